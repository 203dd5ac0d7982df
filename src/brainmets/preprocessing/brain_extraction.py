"""Brain extraction on the pre-contrast T1, as in the paper (FSL BET).

Three engines:

* ``fsl``: FSL's ``bet`` through nipype's ``fsl.BET`` interface, the paper's
  tool. FSL is not distributed on PyPI, so it is used only where a user has
  installed it (``bet`` on the PATH and ``FSLDIR`` set).
* ``python``: the BET algorithm of Smith (2002) as implemented by the
  ``brainextractor`` package from PyPI. That implementation works in voxel
  units and assumes isotropic voxels, so the image is first resampled to an
  isotropic grid and the mask is carried back.
* ``deepbet``: the deepbet networks (Fisch et al. 2024; PyPI ``deepbet``,
  with PyTorch, the optional extra ``.[deepbet]``: several GB, so not a
  core dependency). On real heads it beat the Python BET
  (``benchmarks/brain_extraction_engines.py``: Dice against FSL's MNI152
  mask 0.977 vs 0.969, at 5 mm slices 0.977 vs 0.957; on chris_t1 the
  Python BET lost the cerebellum) in a fifth of the time.

``auto`` picks ``fsl`` when it is installed (the paper's tool), else
``deepbet`` when it is installed (the better one on clinical scans), else
``python``; which one ran is recorded with every mask.

An input that is already skull-stripped (constant background around the
brain, as the public metastasis collections ship it) needs no engine: BET on
such an image cuts into the brain. ``detect_skull_stripped`` recognises one
and its mask is the non-background region.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from ..geometry import resample_to_grid
from ..niio import spacing_mm

log = logging.getLogger(__name__)

ENGINES = ("auto", "fsl", "python", "deepbet")
# BET's fractional intensity threshold per engine: FSL's own default, and
# for the Python implementation, whose surface settles further out, the
# value that matched the phantom's true brain mask (Dice 0.97).
DEFAULT_FRACTIONAL_THRESHOLD = {"fsl": 0.5, "python": 0.7}


def fsl_available() -> bool:
    return shutil.which("bet") is not None and bool(os.environ.get("FSLDIR"))


def deepbet_available() -> bool:
    return importlib.util.find_spec("deepbet") is not None


def choose_engine(requested: str) -> str:
    if requested not in ENGINES:
        raise ValueError(f"brain extraction engine must be one of {ENGINES}, not {requested!r}")
    if requested == "auto":
        return "fsl" if fsl_available() else "deepbet" if deepbet_available() else "python"
    if requested == "fsl" and not fsl_available():
        raise RuntimeError(
            "brain extraction engine 'fsl' was requested but FSL's bet is not installed "
            "(bet not on PATH or FSLDIR unset); install FSL or set preprocessing.brain_extraction.engine: auto"
        )
    if requested == "deepbet" and not deepbet_available():
        raise RuntimeError(
            "brain extraction engine 'deepbet' was requested but the deepbet package is not installed "
            "(pip install deepbet, which brings PyTorch); or set preprocessing.brain_extraction.engine: auto"
        )
    return requested


def bet_interface(in_file, out_file, frac: float, robust: bool = True):
    """nipype's FSL BET interface, configured as the workflow runs it."""
    from nipype.interfaces import fsl

    return fsl.BET(
        in_file=str(in_file), out_file=str(out_file), mask=True, frac=frac, robust=robust, output_type="NIFTI_GZ"
    )


def run_fsl_bet(in_file, frac: float) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        interface = bet_interface(in_file, Path(tmp) / "brain.nii.gz", frac)
        log.info("running %s", interface.cmdline)
        result = interface.run()
        return np.asarray(nib.load(result.outputs.mask_file).dataobj) > 0


def isotropic_grid(affine: np.ndarray, shape, spacing_mm: float):
    """A grid with the image's axes and field of view, at isotropic spacing."""
    lin = affine[:3, :3]
    old_spacing = np.sqrt((lin**2).sum(axis=0))
    directions = lin / old_spacing
    extent = old_spacing * np.asarray(shape)
    new_shape = np.maximum(np.round(extent / spacing_mm).astype(int), 1)
    new_lin = directions * spacing_mm
    # Keep the field-of-view corner: voxel centres sit half a voxel inside.
    corner = affine[:3, 3] - lin @ np.full(3, 0.5)
    new_affine = np.eye(4)
    new_affine[:3, :3] = new_lin
    new_affine[:3, 3] = corner + new_lin @ np.full(3, 0.5)
    return tuple(int(s) for s in new_shape), new_affine


def _restart_surface(extractor, centre: np.ndarray) -> None:
    """Put a BrainExtractor's initial sphere at ``centre`` (voxel units)."""
    import trimesh
    from brainextractor.helpers import sphere

    extractor.c = np.asarray(centre, float)
    extractor.tm = np.median(extractor.data[sphere(extractor.shape, 2 * extractor.r, extractor.c)])
    # Same icosphere as at construction, so the mesh topology is unchanged.
    extractor.vertices = np.array(trimesh.creation.icosphere(subdivisions=4, radius=extractor.r).vertices) + extractor.c
    extractor.rebuild_surface()


def run_python_bet(
    data: np.ndarray,
    affine: np.ndarray,
    fractional_threshold: float,
    isotropic_mm: float = 1.0,
    iterations: int = 500,
    robust_passes: int = 3,
) -> np.ndarray:
    from brainextractor import BrainExtractor

    spacing = spacing_mm(affine)
    # The surface mesh fits best on a fine grid (MNI152 at 2 mm: Dice 0.951
    # against FSL's mask when run at 2 mm, 0.969 at 1 mm).
    iso = float(min(spacing.min(), isotropic_mm))
    shape, iso_affine = isotropic_grid(affine, data.shape, iso)
    iso_data = resample_to_grid(data, affine, shape, iso_affine, order=1)
    log.info("BET (python engine) on isotropic %.2f mm grid %s, fractional threshold %.2f", iso, shape, fractional_threshold)
    chatter = io.StringIO()
    with contextlib.redirect_stdout(chatter):  # the package prints progress
        extractor = BrainExtractor(img=nib.Nifti1Image(iso_data, iso_affine), bt=fractional_threshold)
        extractor.run(iterations=iterations)
        iso_mask = extractor.compute_mask() > 0
        # Robust centre (as FSL's bet -R): a field of view with much neck
        # pulls the intensity centre of gravity, where the surface starts,
        # below the brain. Restart from the centre of the last mask until
        # it settles.
        for _ in range(robust_passes):
            centre = np.argwhere(iso_mask).mean(axis=0)
            if np.linalg.norm((centre - extractor.c) * iso) < 5.0:
                break
            log.info("BET: restarting from the mask centre, %.1f mm from the last start", np.linalg.norm((centre - extractor.c) * iso))
            _restart_surface(extractor, centre)
            extractor.run(iterations=iterations)
            iso_mask = extractor.compute_mask() > 0
    back = resample_to_grid(iso_mask, iso_affine, data.shape, affine, order=1) >= 0.5
    return ndimage.binary_fill_holes(back)


def run_deepbet(img: nib.Nifti1Image, threshold: float = 0.5) -> np.ndarray:
    """deepbet's mask of ``img``, on its grid."""
    from deepbet.bet import BrainExtraction

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # deepbet loads TorchScript, which PyTorch deprecates
        # On the CPU even where a GPU is visible: the same mask on every
        # machine, and preprocessing jobs do not ask for a GPU.
        extractor = BrainExtraction(no_gpu=True)
    log.info("brain extraction (deepbet) on grid %s", img.shape)
    _, mask, _ = extractor.run(img, threshold=threshold)
    return np.asarray(mask.dataobj) > 0


def extract_brain(
    t1_path, engine: str = "auto", fractional_threshold: dict | None = None, isotropic_mm: float = 1.0, iterations: int = 500
) -> tuple[np.ndarray, np.ndarray, str]:
    """Brain mask of a T1-weighted image: (mask, affine, engine used).

    ``fractional_threshold`` maps engine to BET's -f value.
    """
    thresholds = {**DEFAULT_FRACTIONAL_THRESHOLD, **(fractional_threshold or {})}
    used = choose_engine(engine)
    img = nib.load(str(t1_path))
    data = np.asarray(img.dataobj, dtype=np.float32)
    if used == "fsl":
        mask = run_fsl_bet(t1_path, thresholds["fsl"])
    elif used == "deepbet":
        mask = run_deepbet(img)
    else:
        mask = run_python_bet(data, img.affine, thresholds["python"], isotropic_mm, iterations)
    return mask, img.affine.copy(), used


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


def mask_volume_ml(mask: np.ndarray, affine: np.ndarray) -> float:
    return float(mask.sum() * abs(np.linalg.det(affine[:3, :3])) / 1000.0)


def check_mask_volume(patient: str, path, volume_ml: float, limits_ml) -> None:
    lo, hi = limits_ml
    if not lo <= volume_ml <= hi:
        raise ValueError(
            f"patient {patient!r}, file {path}: brain mask volume {volume_ml:.0f} mL is outside the plausible "
            f"range {lo:.0f}-{hi:.0f} mL; brain extraction failed (check the image, or tune "
            "preprocessing.brain_extraction.fractional_threshold)"
        )
