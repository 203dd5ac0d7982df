"""A test patient lacking some of the model's sequences (cohort
``incomplete_patients: test``, as Grovik et al. 2021 tested without BRAVO),
predicted on its own grid (``preprocessing.own_reference``) at the operating
point of its input set (``input_sets.threshold_for``; rule
infer_incomplete_patient)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..errors import PatientError
from ..input_sets import set_name, threshold_for
from ..niio import atomic_write_text
from .inference import missing_refusal, predict_patient
from .train import load_trained

log = logging.getLogger(__name__)


def infer_incomplete_patient(pid: str, preprocessed, brain_mask, model: dict, threshold_path, outputs: dict, batch_size: int = 16, margin: int | None = None) -> dict:
    """``preprocessed``: the report of its preprocessing (the images by
    sequence); ``model``: the ``model`` and ``card`` files; ``outputs``:
    ``probability`` and ``report`` (the caller's names)."""
    done = json.loads(Path(preprocessed).read_text())
    network, card = load_trained(model["model"], model["card"])
    missing = [seq for seq in card["sequences"] if seq not in done["images"]]
    refusal = missing_refusal(card, missing)
    if refusal:
        raise PatientError(pid, f"lacks {', '.join(missing)}, but the model {refusal}")
    threshold, chosen_as = threshold_for(json.loads(Path(threshold_path).read_text()), missing)
    log.info("patient %s: without %s on its %s grid, threshold %.4f, the %s", pid, ", ".join(missing), done["reference"], threshold, chosen_as)
    images = {seq: path for seq, path in done["images"].items() if seq in card["sequences"]}
    inference = predict_patient(network, card, images, brain_mask, outputs["probability"], batch_size, margin)
    report = {
        "patient_id": pid,
        "input_set": set_name(missing),
        "missing_sequences": missing,
        "reference": done["reference"],
        "threshold": threshold,
        "threshold_chosen_as": chosen_as,
        "model_fingerprint": card["fingerprint"],
        "seconds": round(inference["seconds"], 2),
        "max_probability": inference["max_probability"],
        "window_margin": margin,
    }
    atomic_write_text(outputs["report"], json.dumps(report, indent=2))
    return report
