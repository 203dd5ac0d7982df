"""The sequence-ablation table beside Grøvik et al. 2021, from the rows
``ablation.ablation_rows`` wrote (one per test patient and input set);
imports no network code."""

from __future__ import annotations

import pandas as pd

from ..input_sets import INPUT_SETS
from .tables import markdown, mean_interval, resampled_patients

METRICS = ("auc", "dice", "lesion_sensitivity", "fp_components", "fp_components_min_volume")
# The 2021 paper's figures (its test set without BRAVO); other sets are not given there.
PAPER_2021 = {"without BRAVO": {"auc": 0.989, "dice": 0.795, "fp_components_min_volume": 3.6}}


def ablation_table(rows: pd.DataFrame, seed: int, resamples: int = 2000) -> pd.DataFrame:
    """Mean [95% bootstrap interval of the mean] per input set over the
    test patients, beside the 2021 paper. Every set is resampled by the
    same draws of patients (paired: the sets differ by their inputs only)."""
    out = []
    patients = sorted(rows.patient_id.unique())
    picks = resampled_patients(len(patients), seed, resamples)
    for label in (label for label in INPUT_SETS if label in set(rows.input_set)):
        group = rows[rows.input_set == label].set_index("patient_id").reindex(patients)
        entry = {"input set": label, "grid": _grid_cell(group), "patients": int(group.input_set.notna().sum()), "threshold": _threshold_cell(group)}
        for metric in METRICS:
            mean, lo, hi, _ = mean_interval(group[metric].astype(float).to_numpy(), picks)
            entry[metric] = f"{mean:.3f} [{lo:.3f} to {hi:.3f}]"
            paper = PAPER_2021.get(label, {}).get(metric)
            entry[f"{metric} (2021 paper)"] = "" if paper is None else f"{paper:g}"
        out.append(entry)
    return pd.DataFrame(out)


def _grid_cell(group: pd.DataFrame) -> str:
    return " and ".join(sorted(group["grid"].dropna().unique())) if "grid" in group else ""


def _threshold_cell(group: pd.DataFrame) -> str:
    cuts = group["threshold"].dropna().unique() if "threshold" in group else []
    return f"{cuts[0]:.3f}" if len(cuts) == 1 else "one per model" if len(cuts) else ""


def ablation_markdown(table: pd.DataFrame, min_fp_volume_mm3: float, resamples: int = 2000) -> str:
    return markdown(
        table,
        title="Sequence ablation: test patients with sequences left out (Grøvik et al. 2021)",
        note=(
            f"Mean over the test patients (patients: how many) and, in brackets, the 95% bootstrap interval of that mean "
            f"({resamples} resamples of the patients, the same draws for every set). Each input set at its own operating threshold, chosen on the development "
            "patients given that set; one model trained with sequence dropout. The grid column is the reference the patients "
            "were preprocessed on: a set without the BRAVO on the T1gd grid, as brainmets-predict preprocesses a patient without BRAVO. "
            f"fp_components_min_volume counts false positives of at least {min_fp_volume_mm3:g} mm^3. "
            "The 2021 paper reports only its set without BRAVO."
        ),
    )
