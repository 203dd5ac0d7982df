"""Rigid transforms and voxel grids in scanner (RAS, mm) coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .niio import spacing_mm


def rotation_matrix(angles_deg) -> np.ndarray:
    """Rotation about x, then y, then z (angles in degrees), as a 3x3 matrix."""
    ax, ay, az = np.deg2rad(np.asarray(angles_deg, dtype=float))
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def rigid(angles_deg, translation_mm) -> np.ndarray:
    """4x4 homogeneous rigid transform."""
    m = np.eye(4)
    m[:3, :3] = rotation_matrix(angles_deg)
    m[:3, 3] = np.asarray(translation_mm, dtype=float)
    return m


def apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 transform to an (N, 3) array of points."""
    return points @ matrix[:3, :3].T + matrix[:3, 3]


@dataclass(frozen=True)
class Grid:
    """A voxel grid: array shape and the voxel-to-scanner affine."""

    shape: tuple[int, int, int]
    affine: np.ndarray

    @property
    def spacing(self) -> np.ndarray:
        return spacing_mm(self.affine)

    def frame_points(self, vox_to_frame: np.ndarray, k_start: int = 0, k_stop: int | None = None) -> np.ndarray:
        """Frame coordinates of the voxel centres of slabs ``k_start:k_stop``,
        as (N, 3), i varying slowest and k fastest."""
        k_stop = self.shape[2] if k_stop is None else k_stop
        lin, offset = vox_to_frame[:3, :3], vox_to_frame[:3, 3]
        i = np.arange(self.shape[0])[:, None, None, None] * lin[:, 0]
        j = np.arange(self.shape[1])[None, :, None, None] * lin[:, 1]
        k = np.arange(k_start, k_stop)[None, None, :, None] * lin[:, 2]
        return ((i + j) + (k + offset)).reshape(-1, 3)

    def box_points(self, lo, hi) -> np.ndarray:
        """Voxel indices of the box ``lo <= idx < hi`` as (N, 3)."""
        axes = [np.arange(a, b) for a, b in zip(lo, hi)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1).astype(np.float64)

    def index_box(self, vox_to_frame: np.ndarray, centre, radius_mm: float):
        """Index bounds (lo, hi) of the voxels whose frame coordinates may lie
        within ``radius_mm`` of ``centre``; ``vox_to_frame`` maps indices to
        the frame. Returns None when the box misses the grid."""
        frame_to_vox = np.linalg.inv(vox_to_frame)
        corners = np.array(
            [[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float
        )
        pts = apply(frame_to_vox, np.asarray(centre) + radius_mm * corners)
        lo = np.maximum(np.floor(pts.min(axis=0)).astype(int) - 1, 0)
        hi = np.minimum(np.ceil(pts.max(axis=0)).astype(int) + 2, self.shape)
        if np.any(hi <= lo):
            return None
        return lo, hi


def resample_to_grid(data, affine, shape, new_affine, order: int, target_to_source: np.ndarray | None = None) -> np.ndarray:
    """Resample ``data`` (on ``affine``) onto the grid (``shape``, ``new_affine``).

    ``target_to_source`` (4x4, scanner mm) maps a point of the target's space
    to the source's; identity when both share one space. ``order`` is the
    spline order: 0 nearest neighbour (masks, labels), 1 linear (images).
    """
    world_map = np.eye(4) if target_to_source is None else np.asarray(target_to_source)
    vox_map = np.linalg.inv(affine) @ world_map @ new_affine
    return ndimage.affine_transform(
        np.asarray(data, dtype=np.float32), vox_map[:3, :3], vox_map[:3, 3], output_shape=tuple(shape), order=order, mode="constant"
    )
