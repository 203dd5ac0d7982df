"""Recognising an input that is already skull-stripped, and its brain mask.

The public metastasis collections ship stripped images: a constant
background around the brain. BET on such an image cuts into the brain, so
brain extraction takes the non-background region instead
(``stripped_brain_mask``) when the cohort says so, the configuration says
so, or ``detect_skull_stripped`` recognises one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..niio import spacing_mm


def _border_values(data: np.ndarray) -> np.ndarray:
    return np.concatenate([np.moveaxis(data, axis, 0)[[0, -1]].ravel() for axis in range(data.ndim)])


def background_value(data: np.ndarray) -> tuple[float, float]:
    """The most common value on the volume's faces, and the share of face
    voxels that hold it exactly."""
    values, counts = np.unique(_border_values(data), return_counts=True)
    return float(values[counts.argmax()]), float(counts.max() / counts.sum())


def stripped_brain_mask(data: np.ndarray, background: float | None = None) -> np.ndarray:
    """The non-background region with its holes filled (dark ventricles or a
    cavity that the stripping left at the background value stay inside)."""
    if background is None:
        background = background_value(data)[0]
    return ndimage.binary_fill_holes(data != background)


def depth_profile(data: np.ndarray, region: np.ndarray, affine: np.ndarray, step_mm: float = 2.0, depth_mm: float = 30.0, q: float = 25):
    """The ``q``-th intensity percentile of ``region`` in shells of ``step_mm``
    at increasing depth (mm) below its surface, relative to its 95th
    percentile; NaN where a shell is empty."""
    box = ndimage.find_objects(region.astype(np.uint8))[0]
    region, data = region[box], data[box]
    # Faces of the field of view are not surface: a brain cut by the field of
    # view is tissue there, not scalp. (Padding with edge values keeps
    # them so; on the bounding box the other faces border background.)
    padded = np.pad(region, 1, mode="edge")
    depth = ndimage.distance_transform_edt(padded, sampling=spacing_mm(affine))[1:-1, 1:-1, 1:-1][region]
    values = data[region]
    shell = np.floor(depth / step_mm).astype(int)
    scale = np.percentile(values, 95) or 1.0
    n = int(np.ceil(depth_mm / step_mm))
    return np.array([np.percentile(values[shell == i], q) / scale if (shell == i).any() else np.nan for i in range(n)])


def shell_contrast(profile: np.ndarray) -> float:
    """How much darker the darkest shell is than both some shell above it and
    some shell below it: about 1 for a brain, well above for a scalp over a
    skull over a brain."""
    p = profile[np.isfinite(profile)]
    best = 1.0
    for i in range(1, len(p) - 1):
        best = max(best, min(p[:i].max(), p[i + 1 :].max()) / max(p[i], 1e-6))
    return float(best)


# Thresholds of the skull-stripped check. Measured shell contrast: 1.00-1.01
# on stripped images (BraTS t1c/t1n/t2f/t2w; MNI152 times FSL's mask, also
# at 5 mm slices; phantom brains); 1.66-6.1 on heads whose background was
# set to zero (MNI152, chris_t1, phantom T1pre/T1gd/FLAIR/BRAVO), 1.49 on
# chris_PD.
STRIPPED_MIN_BORDER_SHARE = 0.9  # of the faces at the background value: a brain may touch the field of view
STRIPPED_MIN_LARGEST_SHARE = 0.99  # of the non-background voxels in one connected component
STRIPPED_MAX_SHELL_CONTRAST = 1.25


@dataclass
class StrippedCheck:
    stripped: bool
    reason: str
    mask: np.ndarray | None = None  # the brain, when stripped


def detect_skull_stripped(data: np.ndarray, affine: np.ndarray) -> StrippedCheck:
    """Whether ``data`` is already skull-stripped, and if so its brain mask.

    Stripped: the faces of the volume hold one exact value (the background,
    usually zero); what is not background is one connected piece; and no
    shell below its surface is darker than both the layer above and the
    layer below, as a skull between scalp and brain is.
    """
    background, share = background_value(data)
    if share < STRIPPED_MIN_BORDER_SHARE:
        return StrippedCheck(False, f"background not constant: {share:.0%} of the border voxels equal {background:g}")
    # Filled first: background-valued cavities inside the brain do not cut it.
    mask = stripped_brain_mask(data, background)
    labels, n = ndimage.label(mask)
    if n == 0:
        return StrippedCheck(False, "image is all background")
    largest = np.bincount(labels.ravel())[1:].max() / mask.sum()
    if largest < STRIPPED_MIN_LARGEST_SHARE:
        return StrippedCheck(False, f"non-background is in {n} pieces, the largest {largest:.1%} of it")
    contrast = shell_contrast(depth_profile(data, mask, affine))
    if contrast > STRIPPED_MAX_SHELL_CONTRAST:
        return StrippedCheck(False, f"a dark shell (skull-like, contrast {contrast:.2f}) lies below the surface")
    return StrippedCheck(
        True, f"background {background:g} on {share:.1%} of the border, one piece, no skull-like shell (contrast {contrast:.2f})", mask
    )
