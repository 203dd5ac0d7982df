"""Sequence ablation, as in Grøvik et al. 2021 (npj Digital Medicine): a
model trained with sequence dropout is evaluated on the test patients with
each sequence left out in turn, and with BRAVO and T1gd left out together.

A left-out sequence is blanked in the network's input exactly as sequence
dropout blanked it in training (zeros); preprocessing is the workflow's, so
only the network's access to that sequence changes. Each input set is scored
at its own operating threshold (``input_sets``; the complete set's where
none was chosen for it) with the metrics of Table 3.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd

from ..network.inference import load_preprocessed, missing_refusal, predict_volume
from ..network.stacking import from_slices_last
from ..niio import load_nifti
from .input_sets import INPUT_SETS, input_sets
from .metrics import EvaluationSettings, evaluate_patient
from .tables import markdown

log = logging.getLogger(__name__)
METRICS = ("auc", "dice", "lesion_sensitivity", "fp_components", "fp_components_min_volume")
# The 2021 paper's figures (its test set without BRAVO); other sets are not given there.
PAPER_2021 = {"without BRAVO": {"auc": 0.989, "dice": 0.795, "fp_components_min_volume": 3.6}}

def check_ablation_model(card: dict, name: str) -> None:
    for label, missing in input_sets(card["sequences"]).items():
        refusal = missing_refusal(card, missing)
        if refusal:
            raise ValueError(f"model {name}: the ablation leaves out {', '.join(missing)}, but the model {refusal} (set training.sequence_dropout > 0)")


def ablation_rows(
    model, card: dict, patients: dict, settings: EvaluationSettings, batch_size: int = 16, margin: int | None = None, thresholds: dict[str, float] | None = None,
) -> pd.DataFrame:
    """One row per (test patient, input set). ``patients``: id ->
    {"images": by sequence, "brain_mask": path, "lesions": path}.
    ``thresholds``: input set -> its operating threshold (else
    ``settings.threshold``)."""
    thresholds = thresholds or {}
    rows = []
    for pid, files in patients.items():
        volumes, mask, affine, _ = load_preprocessed(card, files["images"], files["brain_mask"])
        truth, _ = load_nifti(files["lesions"], np.uint8)
        brain = from_slices_last(mask, affine)
        for label, missing in input_sets(card["sequences"]).items():
            prob = predict_volume(model, card, volumes, mask, batch_size, list(missing), margin)
            cut = thresholds.get(label, settings.threshold)
            row, _, _, _ = evaluate_patient(truth, from_slices_last(prob, affine), brain, affine, replace(settings, threshold=cut))
            rows.append({"patient_id": pid, "input_set": label, "left_out": "+".join(missing) or "none", "threshold": cut, **{k: row[k] for k in METRICS}})
            log.info("patient %s, %s: AUC %.4f, Dice %.3f, %s false positives", pid, label, row["auc"], row["dice"], row["fp_components"])
    return pd.DataFrame(rows)


def ablation_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean (SD) per input set over the test patients, beside the 2021 paper."""
    out = []
    for label in (label for label in INPUT_SETS if label in set(rows.input_set)):
        group = rows[rows.input_set == label]
        entry = {"input set": label, "patients": group.patient_id.nunique(), "threshold": _threshold_cell(group)}
        for metric in METRICS:
            values = group[metric].astype(float)
            entry[metric] = f"{values.mean():.3f} ({values.std():.3f})"
            paper = PAPER_2021.get(label, {}).get(metric)
            entry[f"{metric} (2021 paper)"] = "" if paper is None else f"{paper:g}"
        out.append(entry)
    return pd.DataFrame(out)


def _threshold_cell(group: pd.DataFrame) -> str:
    cuts = group["threshold"].unique() if "threshold" in group else []
    return f"{cuts[0]:.3f}" if len(cuts) == 1 else "one per model" if len(cuts) else ""


def ablation_markdown(table: pd.DataFrame, min_fp_volume_mm3: float) -> str:
    return markdown(
        table,
        title="Sequence ablation: test patients with sequences left out (Grøvik et al. 2021)",
        note=(
            "Mean (SD) over the test patients, each input set at its own operating threshold, chosen on the development "
            "patients given that set; one model trained with sequence dropout. "
            f"fp_components_min_volume counts false positives of at least {min_fp_volume_mm3:g} mm^3. "
            "The 2021 paper reports only its set without BRAVO."
        ),
    )
