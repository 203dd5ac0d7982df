"""Geometry and intensity normalisation of the network's inputs.

Every sequence lands on the reference's slices (the BRAVO's, else the
post-Gd T1's), resized in-plane to a fixed
matrix (256x256 in the paper; 512x512 BRAVO volumes are downsampled), and
each slice of each sequence is histogram-equalised inside the brain mask
(the paper's choice), or z-scored over the brain as an alternative.
"""

from __future__ import annotations

import numpy as np

from ..slices import slice_axis


def inplane_grid(affine: np.ndarray, shape, inplane_size: int):
    """The reference grid resized in-plane to ``inplane_size`` square
    voxels, the same slices, centred on the same field of view.

    The in-plane spacing is the longer in-plane field of view over
    ``inplane_size``: a reference whose in-plane field of view is not square
    (a sagittal T1gd seen in axial slices: 176 mm left-right, 250 mm
    front-back) is padded along the shorter side rather than stretched, so
    the network sees the head in the proportions it was trained on."""
    axis = slice_axis(affine)
    new_shape = [inplane_size] * 3
    new_shape[axis] = shape[axis]
    factors = np.asarray(shape, float) / np.asarray(new_shape, float)
    lin = np.asarray(affine)[:3, :3]
    spacing = np.sqrt((lin**2).sum(axis=0))
    fov = np.asarray(shape, float) * spacing
    inplane = [a for a in range(3) if a != axis]
    new_affine = np.eye(4)
    if abs(fov[inplane[0]] - fov[inplane[1]]) <= 0.5 * spacing[inplane].max():
        # A square field of view: its edges stay put.
        new_affine[:3, :3] = lin * factors
        new_affine[:3, 3] = affine[:3, 3] + lin @ ((factors - 1) / 2)
    else:
        wide = max(inplane, key=lambda a: fov[a])
        for a in inplane:
            factors[a] = factors[wide] * spacing[wide] / spacing[a]
        new_affine[:3, :3] = lin * factors
        # The centre of the field of view stays put.
        centre = lin @ ((np.asarray(shape, float) - 1) / 2) + affine[:3, 3]
        new_affine[:3, 3] = centre - new_affine[:3, :3] @ ((np.asarray(new_shape, float) - 1) / 2)
    return tuple(int(s) for s in new_shape), new_affine


def equalize_slices(volume: np.ndarray, mask: np.ndarray, axis: int) -> np.ndarray:
    """Independent histogram equalisation of each slice inside ``mask``.

    Each brain voxel becomes the fraction of the slice's brain voxels at or
    below its value (the empirical CDF), quantized to 255 levels k/255,
    k = 1..255, as an 8-bit equalization does (so uint8 storage of the
    network records is lossless); outside the mask the result is 0.
    """
    out = np.zeros(volume.shape, np.float32)
    vol = np.moveaxis(volume, axis, 0)
    msk = np.moveaxis(mask.astype(bool), axis, 0)
    res = np.moveaxis(out, axis, 0)  # a view: writes land in ``out``
    for k in range(vol.shape[0]):
        values = vol[k][msk[k]]
        if values.size == 0:
            continue
        ordered = np.sort(values)
        cdf = np.searchsorted(ordered, values, side="right") / values.size
        res[k][msk[k]] = np.maximum(1.0, np.rint(cdf * 255.0)) / 255.0
    return out


def zscore(volume: np.ndarray, mask: np.ndarray) -> np.ndarray:
    values = volume[mask > 0]
    out = np.zeros(volume.shape, np.float32)
    if values.size:
        out[mask > 0] = (values - values.mean()) / max(values.std(), 1e-6)
    return out


NORMALIZATIONS = {"histogram_equalization", "zscore"}


def normalize(volume: np.ndarray, mask: np.ndarray, axis: int, method: str) -> np.ndarray:
    if method == "histogram_equalization":
        return equalize_slices(volume, mask, axis)
    if method == "zscore":
        return zscore(volume, mask)
    raise ValueError(f"normalization must be one of {sorted(NORMALIZATIONS)}, not {method!r}")
