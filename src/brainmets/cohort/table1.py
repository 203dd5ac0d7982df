"""Table 1 of the paper: the cohort at a glance."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..sequences import SUBGROUPS


def _mean_sd(values) -> str:
    values = np.asarray(values, float)
    if len(values) == 0:
        return "n/a"
    return f"{values.mean():.1f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.1f}"


def build_table1(patient_files, lesion_files) -> pd.DataFrame:
    """Rows of (characteristic, value) from the cohort's patient and lesion files."""
    patients = [json.loads(open(f).read()) for f in patient_files]
    lesions = pd.concat([pd.read_csv(f, sep="\t") for f in lesion_files], ignore_index=True) if lesion_files else pd.DataFrame()
    labelled = [p for p in patients if p["labelled"]]
    rows = [("Patients", str(len(patients))), ("Patients with lesion masks", str(len(labelled)))]
    strengths = [p["metadata"].get("field_strength_t") for p in patients if p["metadata"].get("field_strength_t")]
    for value in sorted({float(s) for s in strengths}):
        rows.append((f"Field strength {value:g}T", str(sum(float(s) == value for s in strengths))))
    rows.append(("Number of metastases:", "Number of patients"))
    for group in SUBGROUPS:
        n = sum(p["subgroup"] == group for p in labelled)
        label = "≤3" if group == "1-3" else group
        rows.append((f"  {label}", f"{n} ({100 * n / max(len(labelled), 1):.0f}%)"))
    counts = [p["n_lesions"] for p in labelled]
    rows.append(("Lesions in total", str(int(np.sum(counts))) if counts else "0"))
    rows.append(("Lesions per patient, mean ± SD", _mean_sd(counts)))
    if counts:
        rows.append(("Lesions per patient, median (range)", f"{np.median(counts):g} ({min(counts)}-{max(counts)})"))
    if len(lesions):
        d = lesions["longest_diameter_mm"].to_numpy()
        q1, med, q3 = np.percentile(d, [25, 50, 75])
        rows.append(("Longest diameter (mm), median (IQR)", f"{med:.1f} ({q1:.1f}-{q3:.1f})"))
        rows.append(("Longest diameter (mm), range", f"{d.min():.1f}-{d.max():.1f}"))
        for lo, hi in ((0, 7), (7, 22), (22, np.inf)):
            n = int(((d >= lo) & (d < hi)).sum())
            span = f"≥{lo:g} mm" if hi == np.inf else (f"<{hi:g} mm" if lo == 0 else f"{lo:g}-{hi:g} mm")
            rows.append((f"  lesions {span}", f"{n} ({100 * n / len(d):.0f}%)"))
        rows.append(("Lesion volume (mm³), median", f"{lesions['volume_mm3'].median():.1f}"))
    return pd.DataFrame(rows, columns=["characteristic", "value"])


def to_markdown(table: pd.DataFrame, title: str) -> str:
    lines = [f"# {title}", "", "| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines) + "\n"
