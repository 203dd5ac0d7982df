"""A test patient lacking some of the model's sequences (cohort
``incomplete_patients: test``, as Grovik et al. 2021 tested without BRAVO),
predicted on its own grid (``preprocessing.own_reference``) at the operating
point of its input set (``input_sets.choose_input_set``; rule
infer_incomplete_patient)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..input_sets import choose_input_set
from ..niio import atomic_write_text
from .inference import predict_patient
from .train import load_trained

log = logging.getLogger(__name__)


def infer_incomplete_patient(pid: str, preprocessed, brain_mask, model: dict, threshold_path, outputs: dict, batch_size: int = 16, margin: int | None = None) -> dict:
    """``preprocessed``: the report of its preprocessing (the images by
    sequence); ``model``: the ``model`` and ``card`` files; ``outputs``:
    ``probability`` and ``report`` (the caller's names)."""
    done = json.loads(Path(preprocessed).read_text())
    network, card = load_trained(model["model"], model["card"])
    chosen = choose_input_set(pid, done["images"], card, json.loads(Path(threshold_path).read_text()))
    log.info("patient %s: without %s on its %s grid, threshold %.4f, the %s", pid, ", ".join(chosen.missing), done["reference"], chosen.threshold, chosen.chosen_as)
    inference = predict_patient(network, card, chosen.images, brain_mask, outputs["probability"], batch_size, margin)
    report = {
        "patient_id": pid,
        "input_set": chosen.name,
        "missing_sequences": list(chosen.missing),
        "reference": done["reference"],
        "threshold": chosen.threshold,
        "threshold_chosen_as": chosen.chosen_as,
        "model_fingerprint": card["fingerprint"],
        "seconds": round(inference["seconds"], 2),
        "max_probability": inference["max_probability"],
        "window_margin": margin,
    }
    atomic_write_text(outputs["report"], json.dumps(report, indent=2))
    return report
