"""The preprocessing steps of one patient, one function per workflow rule.

Each step is given what it needs: the images, the settings, whether the
cohort's images came skull-stripped and co-registered (``preprocessed``)
and, for the phantom, its ground-truth files (``truth``: "transforms" and
"brain_mask"). Files are named by ``layout.PreprocessingFiles`` (BIDS
derivatives), whose parts each step takes: the workflow's rules name their
outputs from it too.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from ..cohort.validate import InputError
from ..geometry import resample_to_grid
from ..layout import BrainExtractionFiles, CoregistrationFiles, NormalizationFiles, PreprocessingFiles
from ..niio import atomic_write_text, load_nifti, save_nifti, spacing_mm
from ..qc import edges_overlay_figure, mask_outline_figure
from ..sequences import REFERENCE_PREFERENCE, SEQUENCES, PatientGrid
from ..slices import slice_axis
from . import brain_extraction, normalize, registration, skull_stripped
from .settings import BrainExtractionSettings, PreprocessingSettings, RegistrationSettings

log = logging.getLogger(__name__)


def _dice(a, b) -> float:
    a, b = a > 0, b > 0
    denominator = a.sum() + b.sum()
    return float(2 * np.logical_and(a, b).sum() / denominator) if denominator else float("nan")


def brain_extraction_step(pid, t1pre_path, files: BrainExtractionFiles, settings: BrainExtractionSettings, preprocessed: bool = False) -> dict:
    """BET on the pre-contrast T1, unless it is already skull-stripped
    (``settings.skull_stripped``: auto detects it, or takes the cohort's
    word, ``preprocessed``; true/false force it); fails the patient on an
    implausible volume."""
    data, affine = load_nifti(t1pre_path)
    setting = settings.skull_stripped
    check = None
    if setting == "true":
        mask, engine = skull_stripped.stripped_brain_mask(data), "given (skull-stripped input, set in config)"
    elif setting == "auto" and preprocessed:
        # Cohort that ships stripped images (e.g. BrainMetShare).
        mask, engine = skull_stripped.stripped_brain_mask(data), "given (skull-stripped input, cohort metadata)"
    elif setting == "auto" and (check := skull_stripped.detect_skull_stripped(data, affine)).stripped:
        mask, engine = check.mask, "given (skull-stripped input, detected)"
    else:
        mask, affine, engine = brain_extraction.extract_brain(
            t1pre_path, settings.engine, settings.fractional_threshold, settings.isotropic_mm, settings.iterations
        )
    if check is not None:
        log.info("patient %s: skull-stripped input %s: %s", pid, "detected" if check.stripped else "not detected", check.reason)
    volume = brain_extraction.mask_volume_ml(mask, affine)
    log.info("patient %s: brain mask by %s, %.0f mL", pid, engine, volume)
    brain_extraction.check_mask_volume(pid, t1pre_path, volume, settings.volume_limits_ml)
    save_nifti(files.mask, mask.astype(np.uint8), affine)
    mask_outline_figure(files.qc, data, mask, affine, f"sub-{pid}: brain mask ({engine}) on {Path(t1pre_path).name}, {volume:.0f} mL")
    report = {"patient_id": pid, "engine": engine, "mask_volume_ml": volume, "skull_stripped_setting": setting}
    if check is not None:
        report["skull_stripped_check"] = {"detected": check.stripped, "reason": check.reason}
    atomic_write_text(files.report, json.dumps(report, indent=2))
    return report


def coregistration_step(
    pid, seq, reference_path, moving_path, files: CoregistrationFiles, settings: RegistrationSettings, reference: str = REFERENCE_PREFERENCE[0],
    enforce: bool = True, preprocessed: bool = False, truth: dict | None = None, source: str | None = None,
) -> dict:
    """Rigid registration of one sequence onto the reference (the BRAVO,
    else the T1gd), with its QC. An implausible result raises (``enforce``,
    and ``implausible: fail``); the workflow passes ``enforce=False`` and
    leaves the verdict to its own step (``registration_gate``). Images of a
    ``preprocessed`` cohort are taken as registered; ``truth``: the
    phantom's, for the registration error; ``source``: the file the user
    gave for ``seq`` (the report names it; else ``moving_path``)."""
    report, problem = _register(reference_path, moving_path, files.transform, settings, preprocessed)
    ref_to_moving = registration.read_rigid_ras(files.transform)
    if truth is not None:
        report.update(phantom_registration_error(truth, seq, ref_to_moving, reference))
    log.info("patient %s: %s -> %s %s", pid, seq, reference, {k: v for k, v in report.items() if v is not None})
    flag = f"  {report['registration'].upper()}: {problem}" if problem else ""
    _registration_picture(files.qc, reference_path, moving_path, ref_to_moving, f"sub-{pid}: {seq} on {reference} ({reference} edges){flag}")
    named = {"patient_id": pid, "sequence": seq, "reference": reference, "file": source or str(moving_path)}
    atomic_write_text(files.report, json.dumps({**named, **report}, indent=2))
    if problem and settings.implausible == "fail" and enforce:
        raise InputError(pid, moving_path, f"{seq} registration onto the {reference} is implausible: {problem}")
    if problem:
        log.warning("patient %s: %s registration onto the %s is implausible (%s): %s", pid, seq, reference, report["registration"], problem)
    return report


def _register(reference_path, moving_path, transform, settings: RegistrationSettings, preprocessed: bool) -> tuple[dict, str | None]:
    """The registration (an identity for images given registered), its
    report with the check's verdict, and the problem the check found."""
    if preprocessed:
        registration.write_identity_transform(transform)
        report = {"mi_before": None, "mi_after": None, "mi_drop_when_displaced": None, "residual_shift_mm": None, "given": True}
        problem = None
    else:
        report = registration.register_rigid(reference_path, moving_path, transform, settings.rigid)
        problem = registration.implausible(report, settings)
    report["registration"] = "passed" if problem is None else ("failed" if settings.implausible == "fail" else "flagged")
    report["problem"] = problem
    return report, problem


def phantom_registration_error(truth: dict, seq: str, ref_to_moving: np.ndarray, reference: str = REFERENCE_PREFERENCE[0]) -> dict:
    """The registration's error over the phantom's brain against its true
    head motion (``truth``: the phantom's "transforms", each sequence's
    space to the truth's grid, and "brain_mask", on that grid)."""
    recorded = json.loads(Path(truth["transforms"]).read_text())

    def to_truth(name: str) -> np.ndarray:
        return np.eye(4) if name == REFERENCE_PREFERENCE[0] else np.asarray(recorded[name]["matrix"], float)

    true_moving_to_ref = np.linalg.inv(to_truth(reference)) @ to_truth(seq)
    brain, brain_affine = load_nifti(truth["brain_mask"])
    truth_to_ref = np.linalg.inv(to_truth(reference)) @ brain_affine
    points = np.argwhere(brain > 0) @ truth_to_ref[:3, :3].T + truth_to_ref[:3, 3]
    error = registration.target_registration_error(ref_to_moving, true_moving_to_ref, points)
    return {"tre_mean_mm": float(error.mean()), "tre_max_mm": float(error.max())}


def _registration_picture(path, reference_path, moving_path, ref_to_moving, title: str) -> None:
    """The moving image resampled onto the reference, under the reference's edges."""
    ref, ref_affine = load_nifti(reference_path)
    moving, moving_affine = load_nifti(moving_path)
    registered = resample_to_grid(moving, moving_affine, ref.shape, ref_affine, order=1, target_to_source=ref_to_moving)
    edges_overlay_figure(path, registered, ref, ref_affine, title)


def with_margin(mask: np.ndarray, affine, margin_mm: float) -> np.ndarray:
    """``mask`` with holes filled, grown by ``margin_mm`` (physical distance)."""
    mask = ndimage.binary_fill_holes(mask)
    if margin_mm <= 0:
        return mask
    spacing = spacing_mm(affine)
    return ndimage.distance_transform_edt(~mask, sampling=spacing) <= margin_mm


def network_mask(brain: np.ndarray, affine, margin_mm: float, reference: np.ndarray) -> tuple[np.ndarray, float]:
    """The mask the network sees, and the margin it was grown by: the brain
    mask grown by ``margin_mm``, unless the ``reference`` image (on the same
    grid) holds nothing beyond the brain mask, as a skull-stripped input: the
    band would be voxels of 0, which equalization turns into a grey ring no
    scan shows, so the brain mask itself is taken."""
    filled = ndimage.binary_fill_holes(brain)
    grown = with_margin(filled, affine, margin_mm)
    band = grown & ~filled
    if band.any() and np.mean(reference[band] == 0) > 0.5:
        return filled, 0.0
    return grown, margin_mm


def normalization_step(
    pid, cohort_images: dict, brain_extraction_mask, transforms: dict, files: NormalizationFiles, settings: PreprocessingSettings,
    grid: PatientGrid, truth: dict | None = None,
) -> dict:
    """All sequences onto the resized grid of the ``grid``'s reference (chosen
    once per patient: ``sequences.patient_grid``), masked and normalised;
    ``brain_extraction_mask``: the mask drawn on the grid's
    ``brain_extraction_on``; ``transforms``: each other sequence's
    registration onto the reference.

    The mask the network sees is the brain mask grown by
    ``settings.mask_margin_mm``: a cortical metastasis that brain extraction
    cut into stays in view (not for a skull-stripped input: ``network_mask``).
    ``truth``: the phantom's, for the mask's Dice."""
    inplane_size, method, mask_margin_mm = settings.inplane_size, settings.normalization, settings.mask_margin_mm
    reference, bet_on = grid
    ref, ref_affine = load_nifti(cohort_images[reference])
    bet_mask, bet_affine = load_nifti(brain_extraction_mask)
    # A sequence may be absent (prediction with a sequence-dropout model).
    xfms = {seq: registration.read_rigid_ras(transforms[seq]) for seq in SEQUENCES if seq != reference and seq in cohort_images}
    # The brain mask, carried onto the native reference grid (nearest
    # neighbour); none to apply when it was drawn on the reference itself.
    mask_native = resample_to_grid(bet_mask, bet_affine, ref.shape, ref_affine, order=0, target_to_source=xfms.get(bet_on)) > 0.5
    report = {"patient_id": pid, "method": method, "inplane_size": inplane_size, "mask_margin_mm": mask_margin_mm, "reference": reference}
    if truth is not None:
        # The truth lies on the phantom's file grid; the cohort's copy is in canonical voxel order.
        true_mask, true_affine = load_nifti(truth["brain_mask"])
        true_mask = resample_to_grid(true_mask, true_affine, ref.shape, ref_affine, order=0)
        report["mask_dice"] = _dice(mask_native, true_mask)
        log.info("patient %s: brain mask Dice against ground truth %.4f", pid, report["mask_dice"])
    shape, affine = normalize.inplane_grid(ref_affine, ref.shape, inplane_size)
    axis = slice_axis(affine)
    ref_on_grid = resample_to_grid(ref, ref_affine, shape, affine, order=1)
    mask, report["mask_margin_applied_mm"] = network_mask(resample_to_grid(mask_native, ref_affine, shape, affine, order=0) > 0.5, affine, mask_margin_mm, ref_on_grid)
    if report["mask_margin_applied_mm"] != mask_margin_mm:
        log.info("patient %s: nothing beyond the brain mask (skull-stripped input): no %g mm margin", pid, mask_margin_mm)
    save_nifti(files.brain_mask, mask.astype(np.uint8), affine)
    for seq in (s for s in SEQUENCES if s in cohort_images):
        data, data_affine = (ref, ref_affine) if seq == reference else load_nifti(cohort_images[seq])
        xfm = xfms.get(seq)  # None for the reference itself
        # One interpolation from the native image to the final grid.
        resampled = ref_on_grid if seq == reference else resample_to_grid(data, data_affine, shape, affine, order=1, target_to_source=xfm)
        save_nifti(files.images[seq], normalize.normalize(resampled, mask, axis, method), affine)
    report.update(shape=list(shape), spacing_mm=spacing_mm(affine).round(4).tolist())
    atomic_write_text(files.report, json.dumps(report, indent=2))
    return report


def lesion_resampling_step(lesions_path, brain_mask_path, out_path, labels_xfm=None) -> int:
    """The ground-truth lesion mask on the network's grid (nearest neighbour).
    ``labels_xfm``: where the grid is another sequence's than the one the
    labels were drawn on, that sequence's registration onto the labels'
    (the head moves between sequences: world coordinates are not shared)."""
    lesions, lesions_affine = load_nifti(lesions_path)
    grid = nib.load(str(brain_mask_path))
    # The registration maps the labels' world onto the grid's; the grid's points are carried back.
    grid_to_labels = None if labels_xfm is None else np.linalg.inv(registration.read_rigid_ras(labels_xfm))
    out = resample_to_grid(lesions, lesions_affine, grid.shape, grid.affine, order=0, target_to_source=grid_to_labels) > 0.5
    save_nifti(out_path, out.astype(np.uint8), grid.affine)
    return int(out.sum())


PREPROCESSING_STEPS = ("brain_extraction", "coregister", "normalize")


def run_step(
    step: str, pid, images: dict, files: PreprocessingFiles, settings: PreprocessingSettings, grid: PatientGrid,
    preprocessed: bool = False, truth: dict | None = None,
) -> dict:
    """One step of a patient's preprocessing chain (``PREPROCESSING_STEPS``,
    in that order); ``settings``: the ``preprocessing`` block of the config;
    ``grid``: the patient's (``sequences.patient_grid``). Absent sequences
    are skipped (sequence-dropout models); ``preprocessed`` and ``truth``:
    as for the steps."""
    if step not in PREPROCESSING_STEPS:
        raise ValueError(f"unknown preprocessing step {step!r}: one of {', '.join(PREPROCESSING_STEPS)}")
    reference, bet_on = grid
    if step == "brain_extraction":
        return brain_extraction_step(pid, images[bet_on], files.brain_extraction, settings.brain_extraction, preprocessed)
    if step == "coregister":
        return {
            seq: coregistration_step(
                pid, seq, images[reference], images[seq], files.coregistration[seq], settings.registration, reference,
                preprocessed=preprocessed, truth=truth,
            )
            for seq in SEQUENCES
            if seq in images and seq != reference
        }
    if step == "normalize":
        transforms = files.transforms(images)
        return normalization_step(pid, images, files.brain_extraction.mask, transforms, files.normalization, settings, grid, truth)


def preprocess_patient(
    pid, images: dict, files: PreprocessingFiles, settings: PreprocessingSettings, grid: PatientGrid,
    preprocessed: bool = False, truth: dict | None = None,
) -> dict:
    """The whole chain of one patient, as the workflow's rules run it."""
    return {step: run_step(step, pid, images, files, settings, grid, preprocessed, truth) for step in PREPROCESSING_STEPS}


def preprocess_into(work, pid, images: dict, settings: PreprocessingSettings, grid: PatientGrid, preprocessed: bool = False) -> PreprocessingFiles:
    """The whole chain of one patient outside the workflow's layout (a new
    patient, a test patient on its own reference): every file under
    ``work``/preproc and ``work``/qc; returns them."""
    files = PreprocessingFiles.bids(Path(work) / "preproc", Path(work) / "qc", pid, *grid)
    preprocess_patient(pid, images, files, settings.on_reference(grid.reference), grid, preprocessed)
    return files
