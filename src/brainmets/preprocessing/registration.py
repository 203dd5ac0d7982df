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
# How far the registered image is displaced to see how sharply its mutual
# information peaks at the registration's answer (mm).
DISPLACEMENT_MM = 8.0


HISTOGRAM_BINS = 32


def _intensity_bins(image: np.ndarray, bins: int = HISTOGRAM_BINS) -> tuple[np.ndarray, int]:
    """Each voxel's histogram bin over the image's range, and the bin of 0
    (what a displaced image's uncovered voxels hold)."""
    low, high = float(image.min()), float(image.max())
    scaled = (image - low) * (bins / (high - low))
    return np.clip(scaled, 0, bins - 1).astype(np.intp), int(np.clip((0.0 - low) * bins / (high - low), 0, bins - 1))


def _histogram_mutual_information(fixed_bins: np.ndarray, moved_bins: np.ndarray, bins: int = HISTOGRAM_BINS) -> float:
    joint = np.bincount((fixed_bins * bins + moved_bins).ravel(), minlength=bins * bins).reshape(bins, bins)
    p = joint / joint.sum()
    expected = p.sum(1, keepdims=True) * p.sum(0, keepdims=True)
    shared = p > 0
    return float(np.sum(p[shared] * np.log(p[shared] / expected[shared])))


def _displaced(bins: np.ndarray, axis: int, voxels: int, fill: int) -> np.ndarray:
    """``bins`` moved by ``voxels`` (signed) along ``axis``; uncovered voxels get ``fill``."""
    out = np.full_like(bins, fill)
    source, target = [slice(None)] * 3, [slice(None)] * 3
    source[axis], target[axis] = (slice(0, -voxels), slice(voxels, None)) if voxels > 0 else (slice(-voxels, None), slice(0, voxels))
    out[tuple(target)] = bins[tuple(source)]
    return out


def mi_drop_when_displaced(fixed: "ants.ANTsImage", moved: np.ndarray, displacement_mm: float = DISPLACEMENT_MM) -> float:
    """Share of the mutual information of ``fixed`` and ``moved`` (already
    on ``fixed``'s grid) lost when ``moved`` is displaced by
    ``displacement_mm`` along each axis in turn (mean over the six moves).

    Relative to the patient's own images, so no contrast pair, grid or
    noise level sets its scale: images of one head aligned share structure
    that a few millimetres destroy (real pairs lose a large share), while a
    blank, noise, another field of view or an optimiser lost far away
    sits on a plateau (next to nothing lost). NaN when nothing is shared.

    A plain 32-bin joint histogram over every voxel: within 0.01 of ANTs'
    Mattes estimate of the same share on real BraTS pairs (own and swapped)
    at a sixtieth of its cost, which was half of each registration's."""
    moved = np.asarray(moved, np.float32)
    fixed_image = fixed.numpy()
    if not (np.ptp(moved) > 0 and np.ptp(fixed_image) > 0):
        return float("nan")  # a constant image shares nothing
    fixed_bins, _ = _intensity_bins(fixed_image)
    moved_bins, zero_bin = _intensity_bins(moved)
    aligned = _histogram_mutual_information(fixed_bins, moved_bins)
    if not aligned > 1e-6:
        return float("nan")
    displaced = []
    for axis, sign in ((a, s) for a in range(3) for s in (-1, 1)):
        voxels = sign * int(max(1, round(displacement_mm / float(fixed.spacing[axis]))))
        displaced.append(_histogram_mutual_information(fixed_bins, _displaced(moved_bins, axis, voxels, zero_bin)))
    return float(1.0 - np.mean(displaced) / aligned)


def register_rigid(fixed_path, moving_path, transform_path, settings: RigidSettings | None = None) -> dict:
    """Register ``moving`` onto ``fixed``; write the ITK transform that maps
    fixed-space points to moving-space points (what ``antsApplyTransforms``
    expects for resampling the moving image onto the fixed grid).

    Returns the mutual information before and after, the share of it lost
    when the result is displaced (``mi_drop_when_displaced``), and the residual local shift
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
    drop = mi_drop_when_displaced(grid, moved.numpy())
    return {
        "mi_before": mi_before,
        "mi_after": mi_after,
        "residual_shift_mm": None if np.isnan(shift.median_mm) else round(shift.median_mm, 3),
        "residual_shift_blocks": shift.blocks,
        "moving_voxel_mm": round(float(max(native.spacing)), 3),
        "mi_drop_when_displaced": None if np.isnan(drop) else round(drop, 4),
    }


# Settings of the plausibility check, not of antsRegistration: the share of
# mutual information a registration may lose from where it started (a
# registration that starts right and stays right moves by rounding only),
# the least share lost by displacing the result (below it, nothing in the
# images pins the alignment), and the residual-shift limit (another head).
# Calibrated on real heads and on the phantom: benchmarks/registration_real.py
# and benchmarks/registration_floor.py.
GATE_SETTINGS = {
    "mi_loss_tolerance": 0.02,
    "min_mi_drop_when_displaced": 0.1,
    "max_residual_shift_mm": 2.5,
    "max_residual_shift_voxels": 1.0,
    "implausible": "fail",
}
# Keys of older configurations and model cards that no check reads any more:
# an absolute mutual-information floor depends on the contrast pair and on
# how clean the images are (real same-head pairs end at 0.3-0.6, the
# phantom's at 0.66-0.98), so it refused every real patient.
RETIRED_GATE_SETTINGS = ("min_mutual_information",)


def implausible(report: dict, settings) -> str | None:
    """Why a registration's result cannot be trusted, or None; ``settings``:
    the gate's (``settings.RegistrationSettings``).

    Mutual information that fell during registration by more than
    ``mi_loss_tolerance`` of its start means the optimiser went astray.
    Mutual information that barely changes when the result is displaced by
    a few millimetres (``min_mi_drop_when_displaced``) means nothing in the
    images pins the alignment: a blank or noise image, another field of
    view. A residual local shift above ``max_residual_shift_mm`` (at least
    ``max_residual_shift_voxels`` of the moving image's largest voxel edge)
    means no rigid transform explains the pair: another head. Each problem
    found is named, ``; `` between them."""
    before, after = report["mi_before"], report["mi_after"]
    problems = []
    if after < before - settings.mi_loss_tolerance * abs(before):
        problems.append(
            f"mutual information fell from {before:.3f} to {after:.3f} during registration, more than "
            f"{settings.mi_loss_tolerance:.0%} of its start (preprocessing.registration.mi_loss_tolerance): the optimiser went astray"
        )
    drop = report.get("mi_drop_when_displaced", float("nan"))
    drop = float("nan") if drop is None else drop
    if not drop >= settings.min_mi_drop_when_displaced:  # NaN too: nothing shared at all
        shown = "nothing shared" if np.isnan(drop) else f"{drop:.0%} of it lost"
        problems.append(
            f"mutual information {after:.3f} hardly depends on the alignment (displaced by {DISPLACEMENT_MM:g} mm: {shown}; "
            f"at least {settings.min_mi_drop_when_displaced:.0%} expected, preprocessing.registration.min_mi_drop_when_displaced): "
            "a blank or noise image, or another field of view?"
        )
    shift = report.get("residual_shift_mm")
    if settings.max_residual_shift_mm is not None and shift is not None:
        voxels = settings.max_residual_shift_voxels
        limit = limit_mm(settings.max_residual_shift_mm, report.get("moving_voxel_mm"), voxels)
        if shift > limit:
            why = f"{limit:.1f} mm, {voxels:g} of its largest voxel edge" if limit > settings.max_residual_shift_mm else f"{settings.max_residual_shift_mm:g} mm"
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
