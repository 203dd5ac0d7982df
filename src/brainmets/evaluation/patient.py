"""Evaluate one test patient from its files; collect all patients' results.

Per patient a JSON holds the metric row, one row per ground-truth lesion,
one per false-positive component, and its ROC sampled on a fixed
false-positive-rate grid (for the mean ROC figure). ``collect`` turns the
JSONs of all test patients (or of all held-out folds) into
``metrics/per_patient.tsv``, ``metrics/lesions.tsv`` and ``metrics/roc.tsv``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..niio import atomic_write_text, load_nifti
from ..input_sets import set_name, threshold_for
from .metrics import EvaluationSettings, evaluate_patient

# Dense near zero, where the curves of good models live.
FPR_GRID = np.r_[0.0, np.logspace(-5, 0, 120)]


def evaluate_patient_files(pid: str, model: str, files: dict, settings: dict, out_path, missing=()) -> dict:
    """``files``: probability, lesions, brain_mask, threshold (JSON), patient
    (JSON); ``missing``: the inputs the patient lacks, whose input set's
    operating point is then used."""
    started = time.perf_counter()
    prob, affine = load_nifti(files["probability"])
    truth, truth_affine = load_nifti(files["lesions"], np.uint8)
    brain, _ = load_nifti(files["brain_mask"], np.uint8)
    if truth.shape != prob.shape or not np.allclose(truth_affine, affine, atol=1e-4):
        raise InputError(pid, files["probability"], f"not on the grid of {files['lesions']}")
    threshold = threshold_for(json.loads(Path(files["threshold"]).read_text()), missing)[0]
    patient = json.loads(Path(files["patient"]).read_text())
    eval_settings = EvaluationSettings(threshold=threshold, **settings)
    row, lesions, fps, roc = evaluate_patient(truth, prob, brain, affine, eval_settings)
    tpr = np.interp(FPR_GRID, roc.fpr, roc.tpr) if roc.defined else np.full(FPR_GRID.shape, np.nan)
    result = {
        "patient_id": pid,
        "model": model,
        "subgroup": patient["subgroup"],
        "input_set": set_name(missing),
        "operating_threshold": threshold,
        **row,
        "seconds": round(time.perf_counter() - started, 3),
        "lesion_rows": lesions,
        "false_positive_rows": fps,
        "roc_tpr": [None if not np.isfinite(v) else float(v) for v in tpr],
    }
    atomic_write_text(out_path, json.dumps(result, indent=1, default=_json_default))
    return result


def _json_default(value):
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"not JSON serializable: {type(value)}")


def collect(json_files) -> dict[str, pd.DataFrame]:
    per_patient, lesions, roc = [], [], []
    for f in json_files:
        r = json.loads(Path(f).read_text())
        base = {"patient_id": r["patient_id"], "subgroup": r["subgroup"], "model": r["model"]}
        per_patient.append({k: v for k, v in r.items() if k not in ("lesion_rows", "false_positive_rows", "roc_tpr")})
        for row in r["lesion_rows"]:
            lesions.append({**base, "kind": "lesion", **row})
        for row in r["false_positive_rows"]:
            lesions.append({**base, "kind": "false_positive", "lesion": row["component"], "volume_mm3": row["volume_mm3"]})
        roc.append({**base, **{f"{fpr:.6g}": tpr for fpr, tpr in zip(FPR_GRID, r["roc_tpr"])}})
    lesion_columns = ["patient_id", "subgroup", "model", "kind", "lesion", "voxels", "volume_mm3", "longest_diameter_mm", "overlap", "found"]
    return {
        "per_patient": pd.DataFrame(per_patient).sort_values("patient_id", kind="stable"),
        "lesions": pd.DataFrame(lesions, columns=lesion_columns),
        "roc": pd.DataFrame(roc).sort_values("patient_id", kind="stable"),
    }
