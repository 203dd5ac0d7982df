"""Rigid co-registration with ANTs (Mattes mutual information, multi-resolution).

Every sequence is registered onto the post-contrast BRAVO, the grid on which
lesions are drawn. The paper used normalised mutual information in
nordicICE; ANTs' Mattes mutual information is the open equivalent.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Single-threaded ITK with a fixed seed: the same inputs give the same
# transform, byte for byte. Must be set before ANTs starts its threads.
os.environ.setdefault("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", "1")

import ants  # noqa: E402

from .residual_shift import LIMIT_VOXELS, limit_mm, residual_shift  # noqa: E402,F401 (re-exported)

_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])  # ITK works in LPS, NIfTI in RAS


@dataclass
class RigidSettings:
    """antsRegistration settings of the rigid stage."""

    metric: str = "mattes"
    histogram_bins: int = 32
    sampling_rate: float = 0.25
    # Images finer than this are first resampled to it: the pyramid then
    # never smooths full-resolution volumes, which dominated the run time,
    # and the error stays a fraction of a millimetre (see benchmarks).
    resample_mm: float = 2.0
    iterations: tuple[int, ...] = (100, 50, 10)
    shrink_factors: tuple[int, ...] = (4, 2, 1)
    smoothing_sigmas: tuple[int, ...] = (2, 1, 0)
    seed: int = 1

    def __post_init__(self):
        # antsRegistration's wrapper accepts pyramids as tuples only.
        for name in ("iterations", "shrink_factors", "smoothing_sigmas"):
            setattr(self, name, tuple(getattr(self, name)))


def mutual_information(fixed: "ants.ANTsImage", moving: "ants.ANTsImage") -> float:
    """Mattes mutual information of two images on the fixed grid (higher
    is better; ANTs reports it negated)."""
    return -float(ants.image_mutual_information(fixed, moving))


def _coarsen(image: "ants.ANTsImage", spacing_mm: float) -> "ants.ANTsImage":
    """Resample to at least ``spacing_mm`` per axis (linear), keeping coarser axes."""
    spacing = tuple(max(float(s), spacing_mm) for s in image.spacing)
    if np.allclose(spacing, image.spacing):
        return image
    return ants.resample_image(image, spacing, use_voxels=False, interp_type=0)


# Grid spacing (mm) of the residual-shift check.
SHIFT_GRID_MM = 2.0


def register_rigid(fixed_path, moving_path, transform_path, settings: RigidSettings | None = None) -> dict:
    """Register ``moving`` onto ``fixed``; write the ITK transform that maps
    fixed-space points to moving-space points (what ``antsApplyTransforms``
    expects for resampling the moving image onto the fixed grid).

    Returns the mutual information before and after, whether the
    registration ended worse than it started, and the residual local shift
    (``residual_shift``: the median extra shift, in mm, that blocks of the
    registered image still need to match the fixed one; a patient's own
    image needs next to none, another head several millimetres).
    """
    settings = settings or RigidSettings()
    ants.config._random_seed = settings.seed  # antsRegistration --random-seed
    fixed = _coarsen(ants.image_read(str(fixed_path)).clone("float"), settings.resample_mm)
    native = ants.image_read(str(moving_path)).clone("float")
    moving = _coarsen(native, settings.resample_mm)
    with tempfile.TemporaryDirectory() as tmp:
        result = ants.registration(
            fixed,
            moving,
            type_of_transform="Rigid",
            outprefix=str(Path(tmp) / "x_"),
            aff_metric=settings.metric,
            aff_sampling=settings.histogram_bins,
            aff_random_sampling_rate=settings.sampling_rate,
            aff_iterations=settings.iterations,
            aff_shrink_factors=settings.shrink_factors,
            aff_smoothing_sigmas=settings.smoothing_sigmas,
        )
        Path(transform_path).parent.mkdir(parents=True, exist_ok=True)
        tmp_out = Path(str(transform_path) + ".tmp")
        shutil.copyfile(result["fwdtransforms"][0], tmp_out)
        os.replace(tmp_out, transform_path)
    initial = ants.apply_transforms(fixed, moving, [], interpolator="linear")
    mi_before = mutual_information(fixed, initial)
    mi_after = mutual_information(fixed, result["warpedmovout"])
    # Measured on a grid of its own (2 mm unless coarser), whatever
    # resample_mm the registration ran at: one limit in mm for every setting.
    grid = _coarsen(ants.image_read(str(fixed_path)).clone("float"), SHIFT_GRID_MM)
    moved = ants.apply_transforms(grid, native, [str(transform_path)], interpolator="linear")
    seen = ants.apply_transforms(grid, native * 0 + 1, [str(transform_path)], interpolator="nearestNeighbor")
    shift = residual_shift(grid.numpy(), moved.numpy(), grid.spacing, seen.numpy() > 0.5)
    return {
        "mi_before": mi_before,
        "mi_after": mi_after,
        "worse_than_start": bool(mi_after < mi_before),
        "residual_shift_mm": None if np.isnan(shift.median_mm) else round(shift.median_mm, 3),
        "residual_shift_blocks": shift.blocks,
        "moving_voxel_mm": round(float(max(native.spacing)), 3),
    }


# Settings of the plausibility check, not of antsRegistration.
GATE_SETTINGS = {"min_mutual_information": 0.4, "max_residual_shift_mm": 2.0, "max_residual_shift_voxels": 1.0, "implausible": "fail"}


def implausible(report: dict, floor: float, max_shift_mm: float | None = None, max_shift_voxels: float = LIMIT_VOXELS) -> str | None:
    """Why a registration's result cannot be trusted, or None.

    Mutual information that fell during registration means the optimiser
    went astray; a final value below ``floor`` means the images share too
    little structure to be one head aligned (a blank or wrong field of
    view). A residual local shift above ``max_shift_mm`` (at least
    ``max_shift_voxels`` of the moving image's largest voxel edge) means no rigid transform explains the pair: another head. Each
    problem found is named, ``; `` between them."""
    before, after = report["mi_before"], report["mi_after"]
    problems = []
    if after < before:
        problems.append(f"mutual information fell from {before:.3f} to {after:.3f} during registration")
    elif after < floor:
        problems.append(
            f"mutual information {after:.3f} after registration is below the floor {floor:g} "
            f"(preprocessing.registration.min_mutual_information; {before:.3f} before): is it another patient's image?"
        )
    shift = report.get("residual_shift_mm")
    if max_shift_mm is not None and shift is not None:
        limit = limit_mm(max_shift_mm, report.get("moving_voxel_mm"), max_shift_voxels)
        if shift > limit:
            why = f"{limit:.1f} mm, {max_shift_voxels:g} of its largest voxel edge" if limit > max_shift_mm else f"{max_shift_mm:g} mm"
            problems.append(
                f"after rigid registration its blocks still need a median local shift of {shift:.1f} mm to match "
                f"(limit {why}; preprocessing.registration.max_residual_shift_mm, max_residual_shift_voxels): not the same head; is it another patient's image?"
            )
    return "; ".join(problems) or None


def write_identity_transform(transform_path) -> None:
    """For inputs that are already co-registered (e.g. BrainMetShare)."""
    tx = ants.create_ants_transform(transform_type="AffineTransform", dimension=3)
    Path(transform_path).parent.mkdir(parents=True, exist_ok=True)
    ants.write_transform(tx, str(transform_path))


def read_rigid_ras(transform_path) -> np.ndarray:
    """The 4x4 matrix (scanner RAS, mm) of an ITK affine transform file:
    it maps fixed-space points to moving-space points."""
    tx = ants.read_transform(str(transform_path))
    params = np.asarray(tx.parameters, float)
    centre = np.asarray(tx.fixed_parameters, float)
    m = params[:9].reshape(3, 3)
    lps = np.eye(4)
    lps[:3, :3] = m
    lps[:3, 3] = params[9:12] + centre - m @ centre
    return _LPS @ lps @ _LPS


def target_registration_error(estimated_ref_to_moving: np.ndarray, true_moving_to_ref: np.ndarray, points_ras: np.ndarray):
    """Distances (mm) between where the estimated and the true transform
    send each reference point into the moving image's space."""
    true_ref_to_moving = np.linalg.inv(true_moving_to_ref)

    def send(m):
        return points_ras @ m[:3, :3].T + m[:3, 3]

    return np.linalg.norm(send(estimated_ref_to_moving) - send(true_ref_to_moving), axis=1)


def resample_onto(reference: "ants.ANTsImage", moving_path, transform_paths, interpolator: str) -> "ants.ANTsImage":
    moving = ants.image_read(str(moving_path)).clone("float")
    return ants.apply_transforms(reference, moving, [str(p) for p in transform_paths], interpolator=interpolator)
