"""Tables 3A-C and 4A-C of the paper, the comparison with the paper, the
BraTS-METS-style lesion-wise table and bootstrap confidence intervals,
all computed from ``metrics/per_patient.tsv`` alone; and the operating
points of each model, from its ``threshold.json``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..sequences import SUBGROUPS
from ..settings_summary import LESION_DRAW_WORDS
from .statistics import ranksum

# Metric column, label, scale for display (100: percent); a label may name
# the FP size limit, a setting (see ``table_metrics``).
TABLE3 = {
    "3A": [("auc", "AUC", 1), ("sensitivity", "Sensitivity (%)", 100), ("specificity", "Specificity (%)", 100)],
    "3B": [("dice", "Dice", 1), ("recall", "Recall", 1), ("precision", "Precision", 1)],
    "3C": [
        ("lesion_sensitivity", "Lesion sensitivity (%)", 100),
        ("fp_components", "FP per patient (no size limit)", 1),
        ("fp_components_min_volume", "FP per patient (>= {min_fp_volume_mm3:g} mm^3)", 1),
    ],
}
TABLE4 = {"4A": "3A", "4B": "3B", "4C": "3C"}
PAIRS = [("1-3", "4-10"), ("1-3", ">10"), ("4-10", ">10")]
GROUP_NAMES = {"1-3": "G1 (1-3)", "4-10": "G2 (4-10)", ">10": "G3 (>10)", "all": "All"}

# Grovik et al. 2020, Tables 3A-C: mean, SD (percent where the label says so).
PAPER = {
    "auc": {"1-3": (0.99, 0.01), "4-10": (0.97, 0.05), ">10": (0.97, 0.03), "all": (0.98, 0.04)},
    "sensitivity": {"1-3": (98, 3), "4-10": (92, 10), ">10": (92, 7), "all": (94, 8)},
    "specificity": {"1-3": (98, 2), "4-10": (97, 3), ">10": (95, 3), "all": (97, 3)},
    "dice": {"1-3": (0.76, 0.20), "4-10": (0.83, 0.04), ">10": (0.78, 0.05), "all": (0.79, 0.12)},
    "recall": {"1-3": (0.54, 0.26), "4-10": (0.59, 0.21), ">10": (0.44, 0.18), "all": (0.53, 0.22)},
    "precision": {"1-3": (0.79, 0.27), "4-10": (0.76, 0.22), ">10": (0.81, 0.11), "all": (0.79, 0.20)},
    "lesion_sensitivity": {"1-3": (92, 25), "4-10": (81, 19), ">10": (76, 20), "all": (83, 22)},
    "fp_components": {"1-3": (3.2, 4.0), "4-10": (8.5, 9.8), ">10": (13.1, 18.9), "all": (8.3, 12.9)},
    "fp_components_min_volume": {"1-3": (1.7, 2.0), "4-10": (4.4, 6.0), ">10": (4.1, 10.3), "all": (3.4, 7.0)},
}


def table_metrics(which: str, min_fp_volume_mm3: float = 10.0) -> list[tuple[str, str, float]]:
    """(column, label, scale) of Table ``which`` (3A-C), labels filled in."""
    return [(column, label.format(min_fp_volume_mm3=min_fp_volume_mm3), scale) for column, label, scale in TABLE3[which]]


def _groups(per_patient: pd.DataFrame):
    for group in (*SUBGROUPS, "all"):
        yield group, per_patient if group == "all" else per_patient[per_patient.subgroup == group]


def _interval_cell(values: np.ndarray, picks: np.ndarray, scale: float = 1, digits: int | None = None) -> tuple[str, int]:
    """'low to high' of the 95% bootstrap interval of the mean, and the patients it rests on."""
    _, lo, hi, counted = mean_interval(values, picks)
    digits = (0 if scale == 100 else 2) if digits is None else digits
    return ("n/a" if not np.isfinite(lo) else f"{lo * scale:.{digits}f} to {hi * scale:.{digits}f}"), counted


def _fmt(mean: float, sd: float, scale: float) -> str:
    if not np.isfinite(mean):
        return "n/a"
    digits = 0 if scale == 100 else 2
    return f"{mean * scale:.{digits}f} ± {sd * scale:.{digits}f}" if np.isfinite(sd) else f"{mean * scale:.{digits}f}"


def table3(per_patient: pd.DataFrame, which: str, min_fp_volume_mm3: float = 10.0) -> pd.DataFrame:
    """Mean and SD per subgroup and overall; undefined values (NaN) are left
    out and counted in ``<metric>_n``."""
    rows = []
    for group, members in _groups(per_patient):
        row = {"subgroup": GROUP_NAMES[group], "patients": len(members)}
        for column, label, scale in table_metrics(which, min_fp_volume_mm3):
            values = members[column].astype(float)
            row[f"{column}_mean"] = values.mean()
            row[f"{column}_sd"] = values.std(ddof=1)
            row[f"{column}_n"] = int(values.notna().sum())
            row[label] = _fmt(row[f"{column}_mean"], row[f"{column}_sd"], scale)
        rows.append(row)
    return pd.DataFrame(rows)


def table4(per_patient: pd.DataFrame, which: str, min_fp_volume_mm3: float = 10.0) -> pd.DataFrame:
    """Wilcoxon rank-sum P-values between subgroups for every metric."""
    rows = []
    for column, label, _ in table_metrics(TABLE4[which], min_fp_volume_mm3):
        row = {"metric": label}
        for a, b in PAIRS:
            test = ranksum(per_patient.loc[per_patient.subgroup == a, column], per_patient.loc[per_patient.subgroup == b, column])
            key = f"{GROUP_NAMES[a].split()[0]} vs {GROUP_NAMES[b].split()[0]}"
            row[key] = test["p"]
            row[f"{key} method"] = test["method"]
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame, columns=None, title: str = "", note: str = "") -> str:
    df = df[columns] if columns else df
    cells = [[("n/a" if isinstance(v, float) and not np.isfinite(v) else (f"{v:.4f}" if isinstance(v, float) else str(v))) for v in row] for row in df.itertuples(index=False)]
    lines = [f"## {title}", ""] if title else []
    lines += ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(c) + " |" for c in cells]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def table3_markdown(df: pd.DataFrame, which: str, min_fp_volume_mm3: float = 10.0) -> str:
    labels = [label for _, label, _ in table_metrics(which, min_fp_volume_mm3)]
    return markdown(df, ["subgroup", "patients", *labels], f"Table {which}", "Mean ± SD over test patients; undefined values (e.g. precision without any predicted voxel) are left out.")


def table4_markdown(df: pd.DataFrame, which: str) -> str:
    p_columns = [c for c in df.columns if c.endswith(("G2", "G3")) and "method" not in c]
    methods = sorted({m for c in df.columns if c.endswith("method") for m in df[c]})
    return markdown(df, ["metric", *p_columns], f"Table {which}: Wilcoxon rank-sum P-values", "Two-sided; method: " + "; ".join(methods) + ".")


def paper_comparison(
    per_patient: pd.DataFrame, cohort: str, synthetic: bool, seed: int, resamples: int = 2000, run: dict | None = None, min_fp_volume_mm3: float = 10.0
) -> str:
    """This run's Tables 3A-C beside the paper's: mean ± SD, and the 95%
    bootstrap interval of the mean with the patients it rests on (a
    subgroup of two patients has an interval that says so)."""
    lines = [
        "# Tables 3A-C: this run beside Grøvik et al. 2020",
        "",
        f"Cohort of this run: {cohort}, {len(per_patient)} test patients. Paper: 51 test patients of 156 (clinical MRI).",
        "",
    ]
    if synthetic:
        lines += ["**The cohort is synthetic: its numbers check that the pipeline works; they are not a reproduction of the paper's results.**", ""]
    # The paper's FP counts are at 10 mm^3: say so when this run counts from another size.
    changed = reductions({**(run or {}), "smallest counted false positive (mm^3)": min_fp_volume_mm3})
    if changed:
        lines += ["What this run changes from the paper's setup:", "", *changed, ""]
    lines += [
        "| table | metric | subgroup | paper | this run | this run, 95% interval | patients |",
        "|---|---|---|---|---|---|---|",
    ]
    groups = [(group, members, resampled_patients(len(members), seed, resamples) if len(members) else None) for group, members in _groups(per_patient)]
    for which in TABLE3:
        for column, label, scale in table_metrics(which, min_fp_volume_mm3):
            for group, members, picks in groups:
                mean, sd = PAPER[column][group]
                paper = f"{mean} ± {sd}"
                values = members[column].astype(float)
                ours = _fmt(values.mean(), values.std(ddof=1), scale)
                interval, counted = ("n/a", 0) if picks is None else _interval_cell(values.to_numpy(), picks, scale)
                lines.append(f"| {which} | {label} | {GROUP_NAMES[group]} | {paper} | {ours} | {interval} | {counted} |")
    return "\n".join(lines) + "\n"


BOOTSTRAP_METRICS = ["auc", "sensitivity", "specificity", "dice", "recall", "precision", "lesion_sensitivity", "fp_components", "fp_components_min_volume", "lesionwise_dice", "lesionwise_hd95_mm"]


def resampled_patients(patients: int, seed: int, resamples: int = 2000) -> np.ndarray:
    """Bootstrap draws (``resamples`` x ``patients`` row indices, with
    replacement) from ``seed``: one set of draws for every metric and
    table of a run, so their intervals rest on the same resamples."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xB007]))
    return rng.integers(0, patients, (resamples, patients))


def mean_interval(values, picks: np.ndarray) -> tuple[float, float, float, int]:
    """Mean, percentile 95% interval of the mean over the ``picks``
    resamples, and the patients with a value (NaN left out of each mean)."""
    values = np.asarray(values, float)
    n = len(values)
    means = np.nanmean(values[picks], axis=1) if n else np.array([np.nan])
    lo, hi = np.nanpercentile(means, [2.5, 97.5]) if np.isfinite(means).any() else (np.nan, np.nan)
    return (np.nanmean(values) if n else np.nan), float(lo), float(hi), int(np.isfinite(values).sum())


def bootstrap(per_patient: pd.DataFrame, seed: int, resamples: int = 2000) -> pd.DataFrame:
    """Percentile 95% intervals of the mean over patients (resampled with
    replacement; NaN values left out of each mean)."""
    picks = resampled_patients(len(per_patient), seed, resamples)
    rows = []
    for column in BOOTSTRAP_METRICS:
        mean, lo, hi, n = mean_interval(per_patient[column].astype(float).to_numpy(), picks)
        rows.append({"metric": column, "mean": mean, "ci95_low": lo, "ci95_high": hi, "patients": n})
    return pd.DataFrame(rows)


def brats_table(per_patient: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for group, members in _groups(per_patient):
        rows.append(
            {
                "subgroup": GROUP_NAMES[group],
                "patients": len(members),
                "lesion-wise Dice": _fmt(members.lesionwise_dice.mean(), members.lesionwise_dice.std(ddof=1), 1),
                "lesion-wise HD95 (mm)": _fmt(members.lesionwise_hd95_mm.mean(), members.lesionwise_hd95_mm.std(ddof=1), 1),
            }
        )
    return pd.DataFrame(rows)


BRATS_NOTE = (
    "BraTS-METS-style lesion-wise metrics. Matching rule: a predicted component matches a ground-truth lesion when it "
    "overlaps the lesion dilated by the configured number of voxels (evaluation.brats_dilation); each lesion's Dice and "
    "95% Hausdorff distance are taken against the union of its matching components; every unmatched lesion and every "
    "unmatched predicted component counts Dice 0 and HD95 374 mm; a patient's value is the mean over both."
)


def operating_points(thresholds: dict[str, dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """From each model's ``threshold.json``: its candidate operating points
    (which one is used) and its dev-set curve (lesion-level FROC and Dice)."""
    points, curves = [], []
    for model, result in sorted(thresholds.items()):
        for name, point in result["candidates"].items():
            points.append(
                {
                    "model": model,
                    "operating_point": name,
                    "used": name == result["operating_point"],
                    "threshold": point["threshold"],
                    "dev_dice": point["dice"],
                    "dev_lesion_sensitivity": point["lesion_sensitivity"],
                    "dev_fp_per_patient": point["fp_per_patient"],
                    "rule": point["rule"],
                }
            )
        curves += [{"model": model, **row} for row in result["dev_curve"]]
    return pd.DataFrame(points), pd.DataFrame(curves)


OPERATING_POINTS_NOTE = (
    "Chosen on the development patients; `used` marks the one (setting `evaluation.operating_point`) "
    "behind the predictions and Tables 3B-C. The paper's rule is `youden` (it found 0.93)."
)

# The paper's scale, for the list of what a run reduces (configs/paper.yaml).
PAPER_SETTINGS = {
    "patients": 156,
    "smallest lesion diameter (mm)": 2.0,
    "in-plane matrix": 256,
    "network width": 1.0,
    "batch size": 32,
    "batches per epoch": "one pass over the training slices",
    "epochs": 10,
    "learning rate": 0.001,
    "learning-rate drop": "none",
    "final weights": "the last epoch's",
    "training patches": "whole slices",
    "lesion draws": LESION_DRAW_WORDS["slice"],
    "operating point": "youden",
    "development patients": "train:dev 20:1",
    "brain-mask margin (mm)": 0.0,
    "sequence dropout": "off",
    "network inputs": "T1pre, T1gd, BRAVO, FLAIR",
    "smallest counted false positive (mm^3)": 10.0,
}


def reductions(run: dict) -> list[str]:
    """Markdown lines: each setting of this run that differs from the paper."""
    lines = []
    for key, paper in PAPER_SETTINGS.items():
        ours = run.get(key)
        if ours is not None and ours != paper:
            lines.append(f"- {key}: {ours} (paper: {paper})")
    return lines
