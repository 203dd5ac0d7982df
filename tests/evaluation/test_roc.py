"""The voxel-wise ROC (``evaluation.roc``): its points, its area as the
Mann-Whitney probability, the Youden point, an undefined curve."""

import numpy as np

from brainmets.evaluation.roc import brain_roc, roc_curve


def _mann_whitney(truth, score):
    """P(a lesion voxel outscores a background voxel), ties one half."""
    pos, neg = score[truth], score[~truth]
    return ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (pos.size * neg.size)


def test_a_worked_example_with_a_tie():
    truth = np.array([1, 1, 0, 1, 0, 0], bool)
    score = np.array([0.9, 0.7, 0.7, 0.4, 0.2, 0.1])
    roc = roc_curve(truth, score)
    # One point per distinct score (0.7 twice: one point), from (0, 0).
    assert roc.thresholds.tolist() == [np.inf, 0.9, 0.7, 0.4, 0.2, 0.1]
    assert np.allclose(roc.tpr, [0, 1 / 3, 2 / 3, 1, 1, 1]) and np.allclose(roc.fpr, [0, 0, 1 / 3, 1 / 3, 2 / 3, 1])
    assert np.isclose(roc.auc(), 7.5 / 9) and np.isclose(_mann_whitney(truth, score), 7.5 / 9)
    youden = roc.youden()
    assert youden["threshold"] == 0.4 and youden["sensitivity"] == 1.0
    assert np.isclose(youden["specificity"], 2 / 3) and np.isclose(youden["youden_j"], 2 / 3)


def test_random_maps_match_the_rank_statistic():
    rng = np.random.default_rng(7)
    truth = rng.random(400) < 0.2
    score = np.round(rng.random(400) + 0.3 * truth, 2)  # rounded: many ties
    assert np.isclose(roc_curve(truth, score).auc(), _mann_whitney(truth, score))


def test_only_brain_voxels_count_and_a_patient_without_lesions_has_no_curve():
    lesions = np.zeros((4, 4), np.uint8)
    lesions[1, 1] = 1
    probability = np.full((4, 4), 0.1)
    probability[1, 1] = 0.8
    probability[3, 3] = 0.95  # outside the brain: not counted
    brain = np.ones((4, 4), bool)
    brain[3, 3] = False
    roc = brain_roc(lesions, probability, brain)
    assert roc.positives == 1 and roc.negatives == 14 and roc.auc() == 1.0
    empty = brain_roc(np.zeros((4, 4)), probability, brain)
    assert not empty.defined and np.isnan(empty.auc()) and np.isnan(empty.youden()["threshold"])
