"""Sequence ablation, as in Grøvik et al. 2021 (npj Digital Medicine): a
model trained with sequence dropout is evaluated on the test patients with
each sequence left out in turn, and with BRAVO and T1gd left out together.

A left-out sequence is blanked in the network's input exactly as sequence
dropout blanked it in training (zeros). A set without the workflow's
reference (the BRAVO) is evaluated, where the workflow gives them, on the
patients preprocessed on the next reference (``patient_grid``: the T1gd
grid of a patient without BRAVO); the other
sets on the workflow's preprocessing. Each input set is scored
at its own operating threshold (``input_sets``; the complete set's where
none was chosen for it) with the metrics of Table 3. The table and its
markdown, from the saved rows, are in ``ablation_table`` (no network code).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import pandas as pd

from ..input_sets import INPUT_SETS, accepted_input_sets, grid_of, input_sets, missing_refusal
from ..network.inference import predict_volume
from ..slices import from_slices_last
from .ablation_table import METRICS
from .input_set_points import PatientGrids
from .metrics import EvaluationSettings, evaluate_patient

log = logging.getLogger(__name__)


def check_ablation_model(card: dict, name: str) -> None:
    """A model trained without sequence dropout has no ablation; one trained
    to do without some sets of sequences is ablated over those (a model
    meant for scans without a BRAVO, say, need not do without the T1gd),
    and the log names the sets left out."""
    refused = {label: missing_refusal(card, frozenset(missing)) for label, missing in input_sets(card["sequences"]).items() if missing}
    refused = {label: why for label, why in refused.items() if why}
    if refused and len(accepted_input_sets(card)) == 1:
        label, why = next(iter(refused.items()))
        raise ValueError(f"model {name}: the ablation leaves out {', '.join(INPUT_SETS[label])}, but the model {why} (set training.sequence_dropout > 0)")
    if refused:
        log.warning("model %s: the ablation leaves out %s: the model was not trained to do without them", name, ", ".join(refused))


def ablation_rows(
    model, card: dict, patients: dict, settings: EvaluationSettings, batch_size: int = 16, margin: int | None = None, thresholds: dict[str, float] | None = None,
    on_grid: dict | None = None,
) -> pd.DataFrame:
    """One row per (test patient, input set). ``patients``: id ->
    {"images": by sequence, "brain_mask": path, "lesions": path};
    ``on_grid``: grid -> the same, preprocessed on that reference, used by
    the sets that lack the workflow's reference (what ``brainmets-predict``
    does for such a patient). ``thresholds``: input set -> its operating
    threshold (else ``settings.threshold``)."""
    thresholds = thresholds or {}
    reference = grid_of(card, ())
    rows = []
    for pid, files in patients.items():
        patient = PatientGrids(card, files, {grid: by_pid[pid] for grid, by_pid in (on_grid or {}).items() if pid in by_pid})
        sets = sorted(accepted_input_sets(card).items(), key=lambda item: patient.grid_files(item[1])[0])
        for label, missing in sets:
            grid, volumes, mask, affine, truth = patient.inputs(missing)
            prob = predict_volume(model, card, volumes, mask, batch_size, list(missing), margin)
            cut = thresholds.get(label, settings.threshold)
            row, _, _, _ = evaluate_patient(truth, from_slices_last(prob, affine), from_slices_last(mask, affine), affine, replace(settings, threshold=cut))
            rows.append({
                "patient_id": pid, "input_set": label, "left_out": "+".join(missing) or "none", "grid": grid or reference,
                "threshold": cut, **{k: row[k] for k in METRICS},
            })
            log.info("patient %s, %s (%s grid): AUC %.4f, Dice %.3f, %s false positives", pid, label, grid or reference, row["auc"], row["dice"], row["fp_components"])
    order = {label: i for i, label in enumerate(INPUT_SETS)}
    return pd.DataFrame(rows).sort_values(["patient_id", "input_set"], key=lambda c: c.map(order) if c.name == "input_set" else c, kind="stable").reset_index(drop=True)
