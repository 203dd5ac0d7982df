"""A test patient lacking some of the workflow's sequences (cohort
``incomplete_patients: test``), preprocessed on its own reference: the first
of ``preprocessing.reference`` it has (its T1gd without a BRAVO), with brain
extraction on its T1pre, else that reference (``patient_grid``; rule
preprocess_incomplete_patient). Its lesion mask, drawn on that
reference, is carried onto the network's grid."""

from __future__ import annotations

import json
import logging
import shutil

from ..niio import atomic_write_text
from ..sequences import patient_grid
from .pipeline import lesion_resampling_step, preprocess_into
from .settings import PreprocessingSettings

log = logging.getLogger(__name__)


def preprocess_on_own_reference(pid: str, images: dict, lesions, block: dict, work, outputs: dict, preprocessed: bool = False) -> dict:
    """``images``: the patient's ingested images by sequence; ``block``: the
    configuration's ``preprocessing``; ``work``: a folder for every
    intermediate file; ``outputs``: ``brain_mask``, ``lesions``,
    ``reference_image`` and ``report`` (the caller's names). The report
    names the reference and each preprocessed image."""
    settings = PreprocessingSettings.from_config(block)
    grid = patient_grid(images, settings.reference)
    reference, bet_on = grid
    log.info("patient %s: preprocessed on its %s (brain extraction on %s), given %s", pid, reference, bet_on, ", ".join(images))
    files = preprocess_into(work, pid, images, settings, grid, preprocessed)
    normalized = files.normalization
    voxels = lesion_resampling_step(lesions, normalized.brain_mask, outputs["lesions"])
    shutil.copyfile(normalized.brain_mask, outputs["brain_mask"])
    shutil.copyfile(normalized.images[reference], outputs["reference_image"])
    report = {
        "patient_id": pid,
        "reference": reference,
        "brain_extraction_on": bet_on,
        "images": {seq: str(normalized.images[seq]) for seq in images},
        "lesion_voxels": voxels,
        # What qc/preprocessing.tsv reads, as it reads a complete patient's.
        "reports": {
            "brain_extraction": str(files.brain_extraction.report),
            "normalization": str(normalized.report),
            "coregistration": [str(files.coregistration[seq].report) for seq in files.coregistration if seq in images],
        },
        "brain_mask": str(outputs["brain_mask"]),
        "lesions": str(outputs["lesions"]),
    }
    atomic_write_text(outputs["report"], json.dumps(report, indent=2))
    return report
