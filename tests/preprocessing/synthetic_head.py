"""A small skull-stripped synthetic head seen by the four sequences, each on
its own oblique grid and with its own head position (known transforms)."""

from __future__ import annotations

import numpy as np

from brainmets.geometry import rigid
from brainmets.niio import save_nifti

# Per sequence: array shape, voxel size (mm), grid rotation (degrees), and the
# head's pose in that acquisition (rotation in degrees, translation in mm).
ACQUISITIONS = {
    "T1pre": ((40, 44, 32), (4.0, 3.8, 5.0), (0, 0, 12), ((4, -3, 5), (5, -4, 3))),
    "T1gd": ((34, 46, 42), (5.0, 3.6, 3.8), (0, 8, -6), ((0, 0, 0), (0, 0, 0))),
    "BRAVO": ((42, 46, 30), (3.8, 3.6, 5.0), (6, 0, 0), ((-2, 3, -3), (-3, 2, 4))),
    "FLAIR": ((36, 40, 36), (4.5, 4.2, 4.4), (0, -10, 8), ((-5, 2, 3), (3, 5, -4))),
}
# Tissue intensities per sequence: white matter, cortex, ventricles, lesions.
CONTRAST = {"T1pre": (0.8, 0.6, 0.2, 0.55), "T1gd": (0.8, 0.6, 0.2, 1.0), "BRAVO": (0.75, 0.5, 0.15, 1.1), "FLAIR": (0.5, 0.65, 0.1, 1.0)}
LESIONS = (((22.0, 12.0, 14.0), 7.0), ((-26.0, -18.0, 4.0), 6.0))


def grid_affine(shape, spacing, angles) -> np.ndarray:
    """Voxels of ``spacing`` on axes rotated by ``angles``, centred on the origin."""
    affine = rigid(angles, (0, 0, 0))
    affine[:3, :3] = affine[:3, :3] * np.asarray(spacing, float)
    affine[:3, 3] = -affine[:3, :3] @ ((np.asarray(shape, float) - 1) / 2)
    return affine


def pose(seq: str) -> np.ndarray:
    """Head space to this acquisition's scanner space."""
    angles, translation = ACQUISITIONS[seq][3]
    return rigid(angles, translation)


def tissue(points: np.ndarray) -> np.ndarray:
    """Tissue label of head-space points: 0 outside, 1 white matter, 2 cortex,
    3 ventricles, 4 lesions."""
    rho = np.sqrt((((points - [0.0, 4.0, 0.0]) / [62.0, 72.0, 55.0]) ** 2).sum(axis=1))
    label = np.where(rho < 1.0, np.where(rho < 0.75, 1, 2), 0)
    for centre in ((9.0, -6.0, 6.0), (-11.0, -6.0, 6.0)):  # asymmetric ventricles
        label[(((points - centre) / [6.0, 20.0, 9.0]) ** 2).sum(axis=1) < 1] = 3
    for centre, radius in LESIONS:
        label[((points - centre) ** 2).sum(axis=1) < radius**2] = 4
    return label


def acquire(seq: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The image of one sequence (zero outside the brain) and its affine."""
    shape, spacing, angles, _ = ACQUISITIONS[seq]
    affine = grid_affine(shape, spacing, angles)
    ijk = np.indices(shape).reshape(3, -1).T.astype(float)
    scanner = ijk @ affine[:3, :3].T + affine[:3, 3]
    head = scanner @ np.linalg.inv(pose(seq))[:3, :3].T + np.linalg.inv(pose(seq))[:3, 3]
    label = tissue(head).reshape(shape)
    values = np.r_[0.0, CONTRAST[seq]][label]
    rng = np.random.default_rng(seed)
    # A smooth bias across the head and a little noise, inside the brain only.
    bias = 1.0 + 0.1 * head[:, 0].reshape(shape) / 70.0
    data = np.where(label > 0, np.clip(values * bias + 0.02 * rng.standard_normal(shape), 0.02, None), 0.0)
    return data.astype(np.float32), affine


def write_patient(folder, sequences=("T1pre", "T1gd", "BRAVO", "FLAIR"), pid: str = "syn") -> dict:
    """NIfTI files of the given sequences, by sequence."""
    paths = {}
    for i, seq in enumerate(sequences):
        data, affine = acquire(seq, seed=i)
        paths[seq] = folder / f"{pid}_{seq}.nii.gz"
        save_nifti(paths[seq], data, affine)
    return paths


def true_moving_to_reference(moving: str, reference: str) -> np.ndarray:
    """Scanner space of ``moving`` to that of ``reference`` (same anatomy)."""
    return pose(reference) @ np.linalg.inv(pose(moving))


# A full preprocessing block for these coarse images (a model card keeps one).
PREPROCESSING = {
    "brain_extraction": {
        "engine": "python", "skull_stripped": "true", "fractional_threshold": {"fsl": 0.5, "python": 0.7},
        "isotropic_mm": 4.0, "iterations": 50, "volume_limits_ml": [500, 2500],
    },
    "registration": {
        "histogram_bins": 32, "sampling_rate": 0.5, "resample_mm": 4.0, "shrink_factors": [2, 1],
        "smoothing_sigmas": [1, 0], "iterations": [60, 30], "seed": 1,
    },
    "inplane_size": 32,
    "mask_margin_mm": 0.0,
    "normalization": "histogram_equalization",
    "reference": ["BRAVO", "T1gd"],
}
