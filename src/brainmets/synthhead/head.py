"""One patient's head: the template's tissues deformed onto a scanner grid,
with skull and scalp added around the brain or left off (skull-stripped
releases such as BraTS)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..geometry import Grid, rigid
from .template import TemplateAnatomy

# MNI152 is larger than the average adult brain (it averages brains
# scaled up to the Talairach atlas): heads are drawn at this size of it.
MEAN_HEAD_SCALE = 0.92
# Per-patient shape variation: size per axis, rotation of the head in the
# scanner, shear, and a smooth non-linear warp (mm).
SCALE_RANGE = 0.12
MAX_ROTATION_DEG = 12.0
MAX_SHEAR = 0.05
MAX_WARP_MM = 4.0
WARP_CONTROL_MM = 40.0
# The brain's centre in MNI space (mm), placed at the grid's centre.
BRAIN_CENTRE_MNI = (0.0, -18.0, 10.0)
# Field of view (mm): square in-plane, as clinical axial acquisitions and
# BraTS (240 mm), and the slab's height. The network sees the in-plane
# field of view at preprocessing.inplane_size pixels: it sets the scale.
INPLANE_FOV_MM = (220.0, 256.0)
SLAB_MM = (160.0, 190.0)


@dataclass
class Head:
    """Tissue fractions on ``grid`` (float32, summing to at most 1 per voxel)."""

    grid: Grid
    tissues: dict[str, np.ndarray]  # csf, gm, wm, dura, skull, scalp
    brain: np.ndarray  # bool: the brain and its CSF
    skull_on: bool
    # Skull-stripped heads: the voxels a stripping tool kept (zero outside
    # on every sequence, as the BraTS releases); None with the skull on.
    kept: np.ndarray | None = None

    @property
    def parenchyma(self) -> np.ndarray:
        return self.tissues["gm"] + self.tissues["wm"]


def scanner_grid(rng: np.random.Generator, spacing_mm: float) -> Grid:
    """An axial grid covering the head, rotated and shifted a little in the
    scanner (a non-identity affine, as every real acquisition has)."""
    inplane, slab = rng.uniform(*INPLANE_FOV_MM), rng.uniform(*SLAB_MM)
    shape = tuple(int(round(f / spacing_mm)) for f in (inplane, inplane, slab))
    tilt = rigid(rng.uniform(-5, 5, 3), rng.uniform(-15, 15, 3))
    scale = np.diag([spacing_mm, spacing_mm, spacing_mm, 1.0])
    centre = np.eye(4)
    centre[:3, 3] = -0.5 * (np.asarray(shape) - 1)
    return Grid(shape, tilt @ scale @ centre)


def _warp(rng, grid: Grid) -> np.ndarray:
    """A smooth random displacement (mm, shape + (3,)) on ``grid``: random
    vectors on a coarse control lattice, interpolated by cubic splines."""
    control = [max(2, int(np.ceil(n * float(s) / WARP_CONTROL_MM)) + 1) for n, s in zip(grid.shape, grid.spacing)]
    out = np.empty(grid.shape + (3,), np.float32)
    zoom = [n / c for n, c in zip(grid.shape, control)]
    for axis in range(3):
        coarse = rng.uniform(-MAX_WARP_MM, MAX_WARP_MM, control).astype(np.float32)
        fine = ndimage.zoom(coarse, zoom, order=3, mode="nearest", grid_mode=True)
        out[..., axis] = fine[tuple(slice(0, n) for n in grid.shape)]
    return out


def template_points(rng, grid: Grid) -> np.ndarray:
    """Template coordinates (mm, shape + (3,)) of every voxel of ``grid``:
    a random affine about the brain's centre plus a smooth warp."""
    linear = np.diag(1.0 / (MEAN_HEAD_SCALE * (1.0 + rng.uniform(-SCALE_RANGE, SCALE_RANGE, 3))))
    linear = linear + rng.uniform(-MAX_SHEAR, MAX_SHEAR, (3, 3)) * (1 - np.eye(3))
    motion = rigid(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG, 3), rng.uniform(-5, 5, 3))
    to_template = np.eye(4)
    to_template[:3, :3] = linear
    to_template = np.linalg.inv(motion) @ to_template
    ijk = np.indices(grid.shape, dtype=np.float32).reshape(3, -1).T
    scanner = ijk @ grid.affine[:3, :3].T.astype(np.float32) + grid.affine[:3, 3].astype(np.float32)
    centre = grid.affine[:3, :3] @ (0.5 * (np.asarray(grid.shape) - 1)) + grid.affine[:3, 3]
    points = (scanner - centre.astype(np.float32)) @ to_template[:3, :3].T.astype(np.float32) + to_template[:3, 3].astype(np.float32)
    points += np.asarray(BRAIN_CENTRE_MNI, np.float32)
    return points.reshape(grid.shape + (3,)) + _warp(rng, grid)


def _sample(volume: np.ndarray, affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    ijk = (points.reshape(-1, 3) - affine[:3, 3]) @ np.linalg.inv(affine[:3, :3]).T
    values = ndimage.map_coordinates(volume, ijk.T, order=1, mode="constant", cval=0.0)
    return values.reshape(points.shape[:-1]).astype(np.float32)


def draw_head(rng: np.random.Generator, template: TemplateAnatomy, spacing_mm: float, skull_probability: float) -> Head:
    grid = scanner_grid(rng, spacing_mm)
    points = template_points(rng, grid)
    gm = _sample(template.gm, template.affine, points)
    wm = _sample(template.wm, template.affine, points)
    brain_fraction = _sample(template.brain, template.affine, points)
    csf = np.clip(brain_fraction - gm - wm, 0.0, 1.0)
    brain = brain_fraction > 0.5
    tissues = {"csf": csf, "gm": gm, "wm": wm}
    skull_on = bool(rng.random() < skull_probability)
    # Shells around the brain (mm from its surface): dura, then the skull's
    # dark cortical bone, then scalp; thickness varies per patient.
    outside = ndimage.distance_transform_edt(~brain, sampling=grid.spacing).astype(np.float32)
    shells = np.zeros((3,) + grid.shape, np.float32)
    if skull_on:
        dura, bone, scalp = rng.uniform(0.8, 2.0), rng.uniform(4.0, 8.0), rng.uniform(4.0, 10.0)
        edges = np.cumsum([0.0, dura, bone, scalp])
        for k in range(3):
            shells[k] = np.clip(np.minimum(outside - edges[k], edges[k + 1] - outside) / float(grid.spacing.mean()) + 0.5, 0, 1)
        shells *= (1.0 - brain_fraction)[None]
    tissues.update(dura=shells[0], skull=shells[1], scalp=shells[2])
    kept = None
    if not skull_on:  # stripped with a mask up to a voxel generous
        kept = ndimage.binary_dilation(brain) if rng.random() < 0.5 else brain
    return Head(grid=grid, tissues=tissues, brain=brain, skull_on=skull_on, kept=kept)
