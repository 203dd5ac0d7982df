"""Wilcoxon rank-sum as MATLAB's ranksum: exact for small samples, ties
included; normal approximation for larger ones."""

import itertools

import numpy as np
import pytest
from scipy import stats

from brainmets.evaluation.statistics import ranksum


def brute_force_p(x, y):
    """Two-sided exact P by enumerating every assignment of the (mid-)ranks."""
    ranks = stats.rankdata(np.concatenate([x, y]))
    w = ranks[: len(x)].sum()
    sums = np.array([ranks[list(c)].sum() for c in itertools.combinations(range(len(ranks)), len(x))])
    lower, upper = np.mean(sums <= w + 1e-9), np.mean(sums >= w - 1e-9)
    return min(1.0, 2 * min(lower, upper))


def test_hand_checked_case_with_ties():
    # Ranks 1, 2.5 | 2.5, 4: w = 3.5; the six rank sums are 3.5, 3.5, 5, 5, 6.5, 6.5.
    result = ranksum([1, 2], [2, 3])
    assert result["method"] == "exact" and result["statistic"] == 3.5
    assert result["p"] == pytest.approx(2 * 2 / 6, abs=1e-12)


@pytest.mark.parametrize(
    "x, y",
    [
        ([0.9, 0.9, 0.8, 1.0], [0.7, 0.9, 0.6, 0.8, 0.5]),
        ([0, 0, 1, 2, 2], [0, 1, 1, 3, 5, 8, 8]),  # FP counts: many ties
        ([1.0, 0.5, 1.0], [1.0, 1.0, 0.75, 0.5, 0.5, 1.0, 0.25, 0.0]),
        ([3, 3, 3, 1, 2, 2, 4, 4, 5, 5, 6, 6], [3, 4, 0]),  # larger x, still exact (min 3 < 10, n 15 < 20)
        ([2, 2, 2, 2, 2, 2, 2, 2, 2], [1, 2, 2, 3, 3, 3, 4, 4, 4, 9]),  # n = 19
        ([5], [5, 5, 6]),
    ],
)
def test_exact_with_ties_matches_enumeration(x, y):
    result = ranksum(x, y)
    assert result["method"] == "exact"
    assert result["p"] == pytest.approx(brute_force_p(x, y), abs=1e-12)
    assert result["statistic"] == pytest.approx(stats.rankdata(np.concatenate([x, y]))[: len(x)].sum())


def test_exact_with_random_ties_matches_enumeration():
    rng = np.random.default_rng(11)
    for _ in range(60):
        n1, n2 = int(rng.integers(1, 8)), int(rng.integers(1, 10))
        x, y = rng.integers(0, 4, n1).astype(float), rng.integers(0, 5, n2).astype(float)
        assert ranksum(x, y)["p"] == pytest.approx(brute_force_p(x, y), abs=1e-12)


def test_all_values_tied_small_sample_is_p_one():
    assert ranksum([1, 1, 1], [1, 1])["p"] == 1.0


@pytest.mark.parametrize("n1, n2", [(1, 1), (2, 5), (5, 7), (9, 10), (3, 16), (12, 4), (7, 7)])
def test_exact_without_ties_matches_scipy(n1, n2):
    rng = np.random.default_rng(n1 * 100 + n2)
    for shift in (0.0, 0.8, 3.0):
        x, y = rng.normal(size=n1), rng.normal(shift, size=n2)
        result = ranksum(x, y)
        assert result["method"] == "exact"
        theirs = stats.mannwhitneyu(x, y, alternative="two-sided", method="exact")
        assert result["p"] == pytest.approx(theirs.pvalue, abs=1e-12)
        assert result["p"] == pytest.approx(brute_force_p(x, y), abs=1e-12)


@pytest.mark.parametrize("n1, n2, method", [(9, 10, "exact"), (12, 4, "exact"), (9, 11, "normal"), (5, 15, "normal"), (10, 10, "normal")])
def test_choice_of_method_as_matlab(n1, n2, method):
    # Exact when min(n1, n2) < 10 and n1 + n2 < 20, ties or not.
    x, y = np.arange(n1) % 3, np.arange(n2) % 4
    assert ranksum(x, y)["method"].startswith(method)


def test_normal_approximation_with_ties_matches_scipy():
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, 6, 14).astype(float), rng.integers(1, 8, 21).astype(float)
    theirs = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    result = ranksum(x, y)
    assert result["method"].startswith("normal")
    assert result["p"] == pytest.approx(theirs.pvalue, abs=1e-12)


def test_returned_keys_and_missing_values():
    result = ranksum([1.0, np.nan, 2.0], [2.0, 3.0])
    assert set(result) == {"p", "statistic", "method", "n1", "n2"}
    assert (result["n1"], result["n2"]) == (2, 2)
    assert np.isnan(ranksum([], [1.0])["p"])
