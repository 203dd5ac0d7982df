"""Visual quality-control pictures, in the spirit of fMRIPrep's reportlets."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402

from .niio import atomic_write_bytes  # noqa: E402


def _canonical(data: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Reorient to RAS so that every view is drawn the usual way up."""
    return np.asarray(nib.as_closest_canonical(nib.Nifti1Image(np.asarray(data, np.float32), affine)).dataobj)


def _aspects(affine: np.ndarray):
    """Pixel aspect ratios of the sagittal, coronal and axial views."""
    zooms = nib.as_closest_canonical(nib.Nifti1Image(np.zeros((2, 2, 2), np.uint8), affine)).header.get_zooms()
    dx, dy, dz = (float(z) for z in zooms[:3])
    return dz / dy, dz / dx, dy / dx


def _views(volume: np.ndarray, centre):
    """Sagittal, coronal and axial slices through ``centre``, displayed
    with anterior/superior up."""
    i, j, k = (int(c) for c in centre)
    return [volume[i, :, :].T, volume[:, j, :].T, volume[:, :, k].T]


def _robust_limits(image):
    nonzero = image[image > 0]
    if nonzero.size == 0:
        return 0, 1
    return np.percentile(nonzero, [1, 99.5])


def _save(fig, path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def _contour_figure(path, image, lines, levels, colors, affine, centre, title: str) -> None:
    """Three orthogonal views of ``image`` with contour ``lines`` drawn over it
    (both already in RAS), written as a PNG."""
    lo, hi = _robust_limits(image)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.4))
    views = zip(axes, _views(image, centre), _views(lines, centre), _aspects(affine), ("sagittal", "coronal", "axial"))
    for ax, im, contour, aspect, name in views:
        ax.imshow(im, cmap="gray", vmin=lo, vmax=hi, origin="lower", aspect=aspect)
        if contour.min() < max(levels) and contour.max() > min(levels):
            ax.contour(contour, levels=levels, colors=colors, linewidths=0.8, origin="lower")
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    _save(fig, path)


def mask_outline_figure(path, image, mask, affine, title: str) -> None:
    """Outline of a mask over an image in three orthogonal views."""
    img = _canonical(image, affine)
    msk = (_canonical(mask, affine) > 0.5).astype(np.float32)
    centre = np.argwhere(msk).mean(axis=0) if msk.any() else np.asarray(img.shape) / 2
    _contour_figure(path, img, msk, [0.5], ["#ff3b30"], affine, centre, title)


def edges_overlay_figure(path, moving, reference, affine, title: str) -> None:
    """A registered image under contour lines of the reference: where the
    two disagree, the lines cut across the image's edges."""
    ref = ndimage.gaussian_filter(_canonical(reference, affine), 1.0)
    head = ref > np.percentile(ref, 60)
    levels = sorted(np.percentile(ref[head], [30, 75])) if head.any() else [float(ref.mean())]
    centre = np.argwhere(head).mean(axis=0) if head.any() else np.asarray(ref.shape) / 2
    _contour_figure(path, _canonical(moving, affine), ref, levels, ["#ff3b30", "#ffcc00"][: len(levels)], affine, centre, title)
