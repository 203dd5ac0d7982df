"""Wilcoxon rank-sum test between lesion-count subgroups (Tables 4A-C).

Two-sided, as MATLAB's ``ranksum`` that the paper used: the exact null
distribution of the rank sum when both samples are small (``min(n) < 10``
and ``n1 + n2 < 20``), ties included (the rank sums of all assignments of
the actual mid-ranks); otherwise the normal approximation with tie
correction and continuity correction. The method
used is returned with every P-value. NaN values (an undefined metric) are
left out of the test.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def _exact_counts(n1: int, scores) -> np.ndarray:
    """Number of n1-subsets of the integer ``scores`` with each sum (index = sum)."""
    scores = sorted(int(s) for s in scores)
    max_sum = sum(scores[len(scores) - n1 :])
    counts = np.zeros((n1 + 1, max_sum + 1), dtype=object)  # exact big integers
    counts[0, 0] = 1
    for i, score in enumerate(scores, start=1):
        for k in range(min(i, n1), 0, -1):
            counts[k, score:] += counts[k - 1, : max_sum + 1 - score]
    return counts[n1]


def ranksum(x, y) -> dict:
    """P-value, rank-sum statistic of ``x`` and the method."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    n1, n2 = x.size, y.size
    if n1 == 0 or n2 == 0:
        return {"p": float("nan"), "statistic": float("nan"), "method": "not tested (empty group)", "n1": n1, "n2": n2}
    ranks = stats.rankdata(np.concatenate([x, y]))
    w = float(ranks[:n1].sum())
    n = n1 + n2
    if min(n1, n2) < 10 and n < 20:
        # Mid-ranks are multiples of 1/2: doubled, every sum is an exact integer.
        counts = _exact_counts(n1, np.rint(2 * ranks))
        total = math.comb(n, n1)
        w2 = int(round(2 * w))
        lower = sum(counts[: w2 + 1]) / total
        upper = sum(counts[w2:]) / total
        p, method = min(1.0, 2 * min(lower, upper)), "exact"
    else:
        mean = n1 * (n + 1) / 2
        _, tie_counts = np.unique(ranks, return_counts=True)
        var = n1 * n2 / 12 * ((n + 1) - np.sum(tie_counts**3 - tie_counts) / (n * (n - 1)))
        if var <= 0:
            return {"p": 1.0, "statistic": w, "method": "all values tied", "n1": n1, "n2": n2}
        z = (w - mean - 0.5 * np.sign(w - mean)) / math.sqrt(var)
        p, method = float(2 * stats.norm.sf(abs(z))), "normal approximation (tie and continuity corrected)"
    return {"p": float(p), "statistic": w, "method": method, "n1": n1, "n2": n2}
