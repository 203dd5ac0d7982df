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


def mask_outline_figure(path, image, mask, affine, title: str) -> None:
    """Outline of a mask over an image in three orthogonal views."""
    img = _canonical(image, affine)
    msk = _canonical(mask, affine) > 0.5
    centre = np.argwhere(msk).mean(axis=0) if msk.any() else np.asarray(img.shape) / 2
    lo, hi = _robust_limits(img)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.4))
    views = zip(axes, _views(img, centre), _views(msk, centre), _aspects(affine), ("sagittal", "coronal", "axial"))
    for ax, im, m, aspect, name in views:
        ax.imshow(im, cmap="gray", vmin=lo, vmax=hi, origin="lower", aspect=aspect)
        if m.any():
            ax.contour(m, levels=[0.5], colors="#ff3b30", linewidths=1.0, origin="lower")
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    _save(fig, path)


def edges_overlay_figure(path, moving, reference, affine, title: str) -> None:
    """A registered image under contour lines of the reference: where the
    two disagree, the lines cut across the image's edges."""
    mov = _canonical(moving, affine)
    ref = ndimage.gaussian_filter(_canonical(reference, affine), 1.0)
    head = ref > np.percentile(ref, 60)
    levels = np.percentile(ref[head], [30, 75]) if head.any() else [ref.mean()]
    centre = np.argwhere(head).mean(axis=0) if head.any() else np.asarray(ref.shape) / 2
    lo, hi = _robust_limits(mov)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.4))
    views = zip(axes, _views(mov, centre), _views(ref, centre), _aspects(affine), ("sagittal", "coronal", "axial"))
    for ax, im, r, aspect, name in views:
        ax.imshow(im, cmap="gray", vmin=lo, vmax=hi, origin="lower", aspect=aspect)
        ax.contour(r, levels=levels, colors=["#ff3b30", "#ffcc00"], linewidths=0.7, origin="lower")
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    _save(fig, path)
