"""The operating threshold: the mean of the development patients' Youden
thresholds (the paper found 0.93), saved beside the model."""

from __future__ import annotations

import logging

import numpy as np

from ..niio import load_nifti
from .roc import brain_roc

log = logging.getLogger(__name__)
FALLBACK = 0.5


def operating_threshold(dev_patients: dict[str, dict]) -> dict:
    """``dev_patients``: id -> {"probability", "lesions", "brain_mask"} paths."""
    per_patient = {}
    for pid, files in sorted(dev_patients.items()):
        prob, _ = load_nifti(files["probability"])
        lesions, _ = load_nifti(files["lesions"], np.uint8)
        mask, _ = load_nifti(files["brain_mask"], np.uint8)
        youden = brain_roc(lesions, prob, mask).youden()
        per_patient[pid] = youden
        log.info("dev patient %s: Youden threshold %.4f (sensitivity %.3f, specificity %.4f)", pid, youden["threshold"], youden["sensitivity"], youden["specificity"])
    usable = [v["threshold"] for v in per_patient.values() if np.isfinite(v["threshold"])]
    if usable:
        threshold, method = float(np.mean(usable)), "mean of the development patients' Youden thresholds"
    else:
        threshold, method = FALLBACK, f"no development patient with lesions: fixed {FALLBACK}"
        log.warning("no development patient has both lesion and background voxels; operating threshold set to %s", FALLBACK)
    return {"operating_threshold": threshold, "method": method, "dev_patients": per_patient}
