"""Operating points of a model, chosen on its development patients.

* ``youden`` (the paper's rule, which found 0.93): the mean of the
  development patients' Youden-optimal thresholds.
* ``dice``: the threshold of the highest mean voxel Dice.
* ``froc``: the threshold of the highest lesion sensitivity with at most
  ``froc_max_fp`` false-positive components per patient (lesion-level FROC).

All three, and the FROC curve itself (lesion sensitivity against false
positives per patient over thresholds), are saved beside the model; the
setting ``evaluation.operating_point`` says which one predictions and
Tables 3B-C use. With few development patients the Youden mean is fragile
(one patient's optimum decides it), hence the alternatives.
"""

from __future__ import annotations

import logging

import numpy as np

from ..niio import load_nifti
from .metrics import EvaluationSettings, lesion_detection, voxel_metrics
from .roc import brain_roc

log = logging.getLogger(__name__)
FALLBACK = 0.5
# Dense near 0 and 1, where the optima of weak and strong models lie.
THRESHOLD_GRID = np.unique(np.r_[np.linspace(0.02, 0.98, 49), 1 - np.logspace(-4, -1.5, 8), np.logspace(-4, -1.5, 8)])
OPERATING_POINTS = ("youden", "dice", "froc")


def _finite(value) -> float | None:
    """JSON has no infinity: an undefined threshold is written as null."""
    return float(value) if np.isfinite(value) else None


def dev_curve(dev_patients: dict[str, dict], settings: EvaluationSettings, thresholds=THRESHOLD_GRID) -> tuple[list[dict], dict]:
    """Mean voxel Dice, lesion sensitivity and false positives per patient
    of the development patients at each threshold; and per patient its
    Youden threshold. ``dev_patients``: id -> {"probability", "lesions",
    "brain_mask"} paths."""

    def volumes():
        for pid, files in sorted(dev_patients.items()):
            prob, affine = load_nifti(files["probability"])
            yield pid, prob, load_nifti(files["lesions"], np.uint8)[0] > 0, load_nifti(files["brain_mask"], np.uint8)[0] > 0, affine

    return curve_of(volumes(), settings, thresholds)


def curve_of(volumes, settings: EvaluationSettings, thresholds=THRESHOLD_GRID) -> tuple[list[dict], dict]:
    """``dev_curve`` of (id, probability, truth, brain, affine) volumes."""
    curve = DevCurve(settings, thresholds)
    for volume in volumes:
        curve.add(*volume)
    return curve.result()


class DevCurve:
    """The development curve, one patient at a time (so a patient's images
    can be loaded once for several curves)."""

    def __init__(self, settings: EvaluationSettings, thresholds=THRESHOLD_GRID):
        self.settings = settings
        self.per_threshold = {float(t): {"dice": [], "fp": [], "sensitivity": []} for t in thresholds}
        self.youden = {}

    def add(self, pid, prob, truth, brain, affine) -> None:
        y = brain_roc(truth, prob, brain).youden()
        self.youden[pid] = {k: _finite(v) for k, v in y.items()}
        log.info("dev patient %s: Youden threshold %.4f (sensitivity %.3f, specificity %.4f)", pid, y["threshold"], y["sensitivity"], y["specificity"])
        truth_instances = self.settings.instances.label(truth, affine)  # the same at every threshold
        for t, acc in self.per_threshold.items():
            predicted = self.settings.predicted(prob, brain, t)
            acc["dice"].append(voxel_metrics(truth[brain], predicted[brain])["dice"])
            detection, _ = lesion_detection(truth, predicted, affine, self.settings, truth_instances)
            acc["fp"].append(detection["fp_components"])
            if detection["lesions"]:
                acc["sensitivity"].append(detection["lesion_sensitivity"])

    def result(self) -> tuple[list[dict], dict]:
        rows = [
            {
                "threshold": t,
                "dice": float(np.nanmean(acc["dice"])) if acc["dice"] else float("nan"),
                "lesion_sensitivity": float(np.mean(acc["sensitivity"])) if acc["sensitivity"] else float("nan"),
                "fp_per_patient": float(np.mean(acc["fp"])) if acc["fp"] else float("nan"),
            }
            for t, acc in self.per_threshold.items()
        ]
        return rows, self.youden


def _at(rows: list[dict], threshold: float) -> dict:
    """The curve's row nearest ``threshold``."""
    return min(rows, key=lambda r: abs(r["threshold"] - threshold))


def operating_points(rows: list[dict], youden: dict, froc_max_fp: float) -> dict[str, dict]:
    usable = [v["threshold"] for v in youden.values() if v["threshold"] is not None]
    points = {}
    if usable:
        t = float(np.mean(usable))
        points["youden"] = {**_at(rows, t), "threshold": t, "rule": "mean of the development patients' Youden thresholds (the paper)"}
    defined = [r for r in rows if np.isfinite(r["dice"])]
    if defined:
        best = max(defined, key=lambda r: (r["dice"], r["threshold"]))
        points["dice"] = {**best, "rule": "highest mean voxel Dice of the development patients"}
    within = [r for r in rows if np.isfinite(r["lesion_sensitivity"]) and r["fp_per_patient"] <= froc_max_fp]
    if within:
        best = max(within, key=lambda r: (r["lesion_sensitivity"], -r["fp_per_patient"], r["threshold"]))
        points["froc"] = {**best, "rule": f"highest lesion sensitivity with at most {froc_max_fp:g} false positives per patient"}
    return points


def operating_threshold(dev_patients: dict[str, dict], choice: str = "youden", froc_max_fp: float = 8.3, settings: EvaluationSettings | None = None) -> dict:
    """``dev_patients``: id -> {"probability", "lesions", "brain_mask"} paths.
    The chosen threshold, every candidate, the FROC curve and the Youden
    threshold of each development patient."""
    settings = settings or EvaluationSettings()
    rows, youden = dev_curve(dev_patients, settings)
    result = choose_operating_point(rows, youden, choice, froc_max_fp)
    # Prediction draws its masks the same way (brainmets-predict reads it here).
    result["lesion_min_peak_probability"] = settings.min_peak_probability
    return result


def choose_operating_point(rows: list[dict], youden: dict, choice: str, froc_max_fp: float, what: str = "") -> dict:
    """threshold.json's content from a development curve: the ``choice``
    rule's threshold, every candidate, the curve. ``what``: the input set,
    for the log."""
    if choice not in OPERATING_POINTS:
        raise ValueError(f"operating point must be one of {', '.join(OPERATING_POINTS)}, not {choice!r}")
    points = operating_points(rows, youden, froc_max_fp)
    for name, point in points.items():
        log.info(
            "%soperating point %s: threshold %.4f, dev Dice %.3f, lesion sensitivity %.3f, %.1f false positives per patient",
            f"{what}: " if what else "", name, point["threshold"], point["dice"], point["lesion_sensitivity"], point["fp_per_patient"],
        )
    if choice in points:
        threshold, method = points[choice]["threshold"], points[choice]["rule"]
    else:
        threshold, method = FALLBACK, f"no development patient defines the {choice} operating point: fixed {FALLBACK}"
        log.warning("%sno development patient defines the %s operating point; threshold set to %s", f"{what}: " if what else "", choice, FALLBACK)
    return {
        "operating_threshold": threshold,
        "operating_point": choice,
        "method": method,
        "candidates": points,
        "froc_max_fp": froc_max_fp,
        "dev_curve": rows,
        "dev_patients": youden,
    }
