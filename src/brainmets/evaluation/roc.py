"""Voxel-wise ROC of one patient, inside the brain mask only.

The curve has one point per distinct probability (ties move together), as
scikit-learn's ``roc_curve`` with ``drop_intermediate=False``; AUC is the
trapezoidal area under it, equal to the Mann-Whitney probability that a
lesion voxel outscores a background voxel (ties count one half).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Roc:
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray  # a voxel is positive when probability >= threshold
    positives: int
    negatives: int

    @property
    def defined(self) -> bool:
        return self.positives > 0 and self.negatives > 0

    def auc(self) -> float:
        if not self.defined:
            return float("nan")
        return float(np.trapezoid(self.tpr, self.fpr))

    def youden(self) -> dict:
        """Threshold, sensitivity and specificity at max(TPR - FPR); the
        first (highest) threshold wins a tie."""
        if not self.defined:
            return {"threshold": float("nan"), "sensitivity": float("nan"), "specificity": float("nan"), "youden_j": float("nan")}
        j = self.tpr - self.fpr
        i = int(np.argmax(j))
        return {
            "threshold": float(self.thresholds[i]),
            "sensitivity": float(self.tpr[i]),
            "specificity": float(1.0 - self.fpr[i]),
            "youden_j": float(j[i]),
        }


def roc_curve(truth: np.ndarray, score: np.ndarray) -> Roc:
    truth = np.asarray(truth).ravel() > 0
    score = np.asarray(score, np.float64).ravel()
    order = np.argsort(-score, kind="stable")
    s, t = score[order], truth[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), s.size - 1] if s.size else np.array([], int)
    tps = np.cumsum(t)[last_of_tie] if s.size else np.array([])
    fps = last_of_tie + 1 - tps
    positives, negatives = int(t.sum()), int(t.size - t.sum())
    tpr = np.r_[0.0, tps / positives] if positives else np.r_[0.0, np.zeros_like(tps, float)]
    fpr = np.r_[0.0, fps / negatives] if negatives else np.r_[0.0, np.zeros_like(fps, float)]
    thresholds = np.r_[np.inf, s[last_of_tie]]
    return Roc(fpr, tpr, thresholds, positives, negatives)


def brain_roc(lesions: np.ndarray, probability: np.ndarray, brain_mask: np.ndarray) -> Roc:
    """ROC over the voxels inside the brain mask."""
    inside = np.asarray(brain_mask) > 0
    return roc_curve(np.asarray(lesions)[inside], np.asarray(probability)[inside])
