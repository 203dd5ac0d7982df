"""A test patient lacking some of the model's sequences (cohort
``incomplete_patients: test``, as Grovik et al. 2021 tested without BRAVO),
predicted on its own grid (``preprocessing.own_reference``) at the operating
point of its input set, by the model's ``Predictor`` (rule
infer_incomplete_patient)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .niio import atomic_write_text
from .predictor import Predictor

log = logging.getLogger(__name__)


def infer_incomplete_patient(pid: str, preprocessed, brain_mask, predictor: Predictor, outputs: dict) -> dict:
    """``preprocessed``: the report of its preprocessing (the images by
    sequence); ``outputs``: ``probability`` and ``report`` (the caller's
    names)."""
    done = json.loads(Path(preprocessed).read_text())
    chosen = predictor.input_set(pid, done["images"])
    log.info("patient %s: without %s on its %s grid, threshold %.4f, the %s", pid, ", ".join(chosen.missing), done["reference"], chosen.threshold, chosen.chosen_as)
    inference = predictor.probability(chosen.images, brain_mask, outputs["probability"])
    report = {
        "patient_id": pid,
        "input_set": chosen.name,
        "missing_sequences": list(chosen.missing),
        "reference": done["reference"],
        "threshold": chosen.threshold,
        "threshold_chosen_as": chosen.chosen_as,
        "model_fingerprint": predictor.card["fingerprint"],
        "seconds": round(inference["seconds"], 2),
        "max_probability": inference["max_probability"],
        "window_margin": predictor.window_margin,
        "test_time_mirroring": predictor.test_time_mirroring,
    }
    atomic_write_text(outputs["report"], json.dumps(report, indent=2))
    return report
