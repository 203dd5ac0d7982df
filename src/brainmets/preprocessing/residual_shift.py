"""Residual local misalignment after a rigid registration: are both images one head?

Mutual information tells how well two images agree, but its value depends on
contrasts, noise and field of view: a patient's own FLAIR and another
patient's T1 can end at the same number. Whether they are one head is a
question of geometry instead. A rigid transform explains the same head
everywhere: once registered, every small block of the reference finds its
best match in the other image where it already is (0 mm to go). Another
head differs non-rigidly (size, shape, ventricles, folding), so after the
best rigid compromise its blocks still want to move by several millimetres,
each its own way. Measured in millimetres, one limit holds across
protocols and contrasts.

The match of a block is the normalised gradient field (NGF) similarity,
the squared cosine of the angle between the two images' edges: it ignores
which tissue is bright, so T1, FLAIR and PD compare alike.

Pure numpy/scipy: both images come on one grid (the moving image already
resampled through the rigid transform).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import numpy as np
from scipy import fft, ndimage


@dataclass
class ResidualShift:
    """Per-block best extra shifts (mm) and their summary."""

    shifts_mm: np.ndarray  # (blocks, 3), along the array axes
    median_mm: float  # median length of the blocks' shifts
    blocks: int

    @property
    def lengths_mm(self) -> np.ndarray:
        return np.linalg.norm(self.shifts_mm, axis=1)


def head_mask(image: np.ndarray) -> np.ndarray:
    """Voxels brighter than a tenth of the 99th percentile, holes filled:
    the head (or the brain of a skull-stripped image), of any contrast."""
    image = np.asarray(image, np.float32)
    positive = image[image > 0]
    if positive.size == 0:
        return np.zeros(image.shape, bool)
    mask = image > 0.1 * np.percentile(positive, 99)
    return ndimage.binary_fill_holes(ndimage.binary_closing(mask, iterations=2))


def normalised_gradients(image: np.ndarray, spacing, mask: np.ndarray, smooth_voxels: float = 1.0) -> np.ndarray:
    """Unit-free edge vectors (3, ...): gradient / sqrt(|gradient|^2 + eps^2),
    eps the median gradient length in ``mask`` (weak edges and noise count
    little, every clear edge about 1, whatever the contrast)."""
    smooth = ndimage.gaussian_filter(np.asarray(image, np.float32), smooth_voxels)
    grad = np.stack(np.gradient(smooth, *[float(s) for s in spacing])).astype(np.float32)
    length = np.sqrt((grad**2).sum(0))
    eps = float(np.median(length[mask])) if mask.any() else 0.0
    eps = eps if eps > 0 else 1.0
    return grad / np.sqrt(length**2 + eps**2)


def residual_shift(
    fixed: np.ndarray,
    moved: np.ndarray,
    spacing,
    valid: np.ndarray | None = None,
    block_mm: float = 24.0,
    search_mm: float = 6.0,
    min_edges: float = 0.3,
    tolerance: float = 0.05,
) -> ResidualShift:
    """Best extra translation of each block of ``fixed`` within ``search_mm``
    that matches ``moved`` (same grid, same spacing), by NGF similarity.

    Blocks are tiles of ``block_mm`` whose voxels lie mostly in the head of
    ``fixed`` and in ``valid`` (the moving image's field of view, shrunk by
    the search range), and that hold edges in both images (mean squared
    edge vector at least ``min_edges``). The best shift is refined to a
    fraction of a voxel by a parabola through its neighbours; a block that
    matches in place within ``tolerance`` of its best needs no shift.
    """
    spacing = np.asarray(spacing, float)
    fixed = np.asarray(fixed, np.float32)
    moved = np.asarray(moved, np.float32)
    head = head_mask(fixed)
    valid = np.ones(fixed.shape, bool) if valid is None else np.asarray(valid, bool)
    reach = np.maximum(np.round(search_mm / spacing).astype(int), 1)
    size = np.maximum(np.round(block_mm / spacing).astype(int), 2)
    # Edges at the border of the field of view are the border's, not the head's.
    inside = ndimage.minimum_filter(valid.astype(np.uint8), size=tuple(2 * reach + 3), mode="constant", cval=0) > 0
    use = head & inside
    if not use.any():
        return ResidualShift(np.zeros((0, 3)), float("nan"), 0)
    f, m = _edge_blocks(fixed, moved, spacing, head, valid, use, size, reach, min_edges)
    if len(f) == 0:
        return ResidualShift(np.zeros((0, 3)), float("nan"), 0)
    cube = _similarity_by_shift(f, m, size, reach)
    peak, shifts = _best_shifts(cube, reach)
    shifts_mm = (shifts.T - reach) * spacing
    # A block whose match in place is as good (an edge that slides along
    # itself, a flat similarity) needs no shift: the aperture problem.
    in_place = cube[tuple(reach)] >= (1 - tolerance) * peak
    shifts_mm[in_place] = 0.0
    return ResidualShift(shifts_mm, float(np.median(np.linalg.norm(shifts_mm, axis=1))), len(shifts_mm))


def _edge_blocks(fixed, moved, spacing, head, valid, use, size, reach, min_edges):
    """Normalised gradients of each tile of ``fixed`` (mostly in ``use``),
    and of ``moved`` around it (grown by ``reach``), for the tiles with
    edges in both images."""
    nf = normalised_gradients(fixed, spacing, head)
    nm = normalised_gradients(moved, spacing, head & valid)
    points = np.argwhere(use)
    lo = points.min(0)
    counts = (points.max(0) + 1 - lo + size - 1) // size
    # Tiles of ``size`` voxels from the head's corner; those mostly in use.
    corners = lo + np.array(list(product(*(range(c) for c in counts)))) * size
    share = np.array([use[tuple(slice(c, c + b) for c, b in zip(corner, size))].sum() for corner in corners]) / size.prod()
    corners = corners[share >= 0.5]
    nm = np.pad(nm, [(0, 0)] + [(r, r + b) for r, b in zip(reach, size)])  # zero edges outside the image
    nf = np.pad(nf, [(0, 0)] + [(0, b) for b in size])
    f = np.stack([nf[(slice(None), *(slice(c, c + b) for c, b in zip(corner, size)))] for corner in corners])
    m = np.stack([nm[(slice(None), *(slice(c, c + b + 2 * r) for c, b, r in zip(corner, size, reach)))] for corner in corners])
    centre = (slice(None), slice(None), *(slice(r, r + b) for r, b in zip(reach, size)))
    # Edges in both images: the similarity of a flat block says nothing.
    edges = np.minimum((f**2).sum(1).mean((1, 2, 3)), (m[centre] ** 2).sum(1).mean((1, 2, 3)))
    return f[edges >= min_edges], m[edges >= min_edges]


def _similarity_by_shift(f, m, size, reach):
    """sum_x (f(x) . m(x + d))^2 / voxels for every shift d at once,
    (shifts..., blocks): the correlation of the products f_i f_j with
    m_i m_j (off-diagonal pairs twice)."""
    pairs = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))
    weights = np.array([1.0, 1.0, 1.0, 2.0, 2.0, 2.0], np.float32)[None, :, None, None, None]
    ff = np.stack([f[:, i] * f[:, j] for i, j in pairs], axis=1) * weights
    mm = np.stack([m[:, i] * m[:, j] for i, j in pairs], axis=1)
    # Circular correlation on the padded block: shifts up to 2 * reach never wrap.
    full = tuple(int(b + 2 * r) for b, r in zip(size, reach))
    spectrum = (np.conj(fft.rfftn(ff, full, axes=(2, 3, 4))) * fft.rfftn(mm, axes=(2, 3, 4))).sum(1)
    cube = fft.irfftn(spectrum, full, axes=(1, 2, 3))[:, : 2 * reach[0] + 1, : 2 * reach[1] + 1, : 2 * reach[2] + 1]
    return np.moveaxis(cube, 0, -1) / size.prod()


def _best_shifts(cube, reach):
    """Each block's best similarity and its shift (voxels from the corner
    of the search range), refined by a parabola through its neighbours."""
    best = np.array(np.unravel_index(cube.reshape(-1, cube.shape[-1]).argmax(0), cube.shape[:3]))  # (3, blocks)
    shifts = best.astype(float)
    columns = np.arange(cube.shape[-1])
    peak = cube[(*best, columns)]
    for axis in range(3):
        before, after = best.copy(), best.copy()
        before[axis] = np.maximum(best[axis] - 1, 0)
        after[axis] = np.minimum(best[axis] + 1, 2 * reach[axis])
        lower, upper = cube[(*before, columns)], cube[(*after, columns)]
        curvature = lower - 2 * peak + upper
        interior = (best[axis] > 0) & (best[axis] < 2 * reach[axis]) & (curvature < 0)
        step = 0.5 * (lower - upper) / np.where(interior, curvature, -1.0)
        shifts[axis] += np.where(interior, np.clip(step, -0.5, 0.5), 0.0)
    return peak, shifts


# A sequence of thick slices places its edges only to about a slice: the
# limit is at least this many of its largest voxel edges (config:
# preprocessing.registration.max_residual_shift_voxels).
LIMIT_VOXELS = 1.0


def limit_mm(max_shift_mm: float, voxel_mm: float | None, voxels: float = LIMIT_VOXELS) -> float:
    """The residual shift allowed for a moving image whose largest voxel edge is ``voxel_mm``."""
    return max(float(max_shift_mm), float(voxels) * float(voxel_mm or 0.0))
