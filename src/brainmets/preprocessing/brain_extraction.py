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

An input that is already skull-stripped needs no engine (BET on such an
image cuts into the brain): ``skull_stripped`` recognises one and gives its
mask.
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
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from ..errors import InputError
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


def mask_volume_ml(mask: np.ndarray, affine: np.ndarray) -> float:
    return float(mask.sum() * abs(np.linalg.det(affine[:3, :3])) / 1000.0)


def check_mask_volume(patient: str, path, volume_ml: float, limits_ml) -> None:
    lo, hi = limits_ml
    if not lo <= volume_ml <= hi:
        raise InputError(
            patient,
            path,
            f"brain mask volume {volume_ml:.0f} mL is outside the plausible "
            f"range {lo:.0f}-{hi:.0f} mL; brain extraction failed (check the image, or tune "
            "preprocessing.brain_extraction.fractional_threshold)"
        )
