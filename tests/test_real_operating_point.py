"""benchmarks/real_operating_point.py: masks drawn from a probability map
as prediction draws them, and the leave-one-case-out estimate of choosing
a setting on the cases it is scored on."""

import sys

import numpy as np

from brainmets.lesions import LesionInstances

from .conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import predict_real  # noqa: E402
import real_operating_point  # noqa: E402


def test_case_scores_follow_the_least_peak():
    prob = np.zeros((20, 20, 10), np.float32)
    prob[2:6, 2:6, 2:6] = 0.6
    prob[3, 3, 3] = 0.99
    prob[10:16, 10:16, 2:8] = 0.9  # a blob of middling probability beside the core
    core = np.zeros(prob.shape, bool)
    core[2:6, 2:6, 2:6] = True
    scores = real_operating_point.case_scores(prob, np.eye(4), core, LesionInstances(), [(0.5, 0.0), (0.5, 0.95), (0.95, 0.0)])
    assert scores[(0.5, 0.95)] == (1.0, 0, True)
    dice, fp, touched = scores[(0.5, 0.0)]
    assert fp == 1 and touched and dice < 1
    assert scores[(0.95, 0.0)][2] and scores[(0.95, 0.0)][0] < 0.05


def test_leave_one_out_scores_each_case_at_the_others_choice():
    """Setting a is best on three cases and misses the fourth, which only
    b finds: with the fourth among the others, b is chosen; held out, the
    fourth is scored at a, the others' choice, as a miss, not at its own
    best."""
    a, b = (0.4, 0.95), (0.4, 0.98)
    scores = [{a: (0.8, 0, True), b: (0.7, 0, True)} for _ in range(3)] + [{a: (0.0, 0, False), b: (0.6, 1, True)}]
    held, picks = real_operating_point.leave_one_out(scores, [a, b], fp_limit=3)
    assert picks == [b, b, b, a]
    assert held[:, 0].tolist() == [0.7, 0.7, 0.7, 0.0] and held[:, 2].sum() == 3
    # Too many false positives on the others rules a setting out whatever its Dice.
    scores = [{a: (0.9, 5, True), b: (0.5, 0, True)} for _ in range(3)]
    assert real_operating_point.leave_one_out(scores, [a, b], fp_limit=3)[1] == [b, b, b]


def test_core_scores_count_a_piece_on_the_oedema_as_a_false_positive_of_the_core_only():
    core, tumour, mask = (np.zeros((10, 10, 10), bool) for _ in range(3))
    core[2:4, 2:4, 2:4] = True
    tumour[:] = core
    tumour[6:9, 6:9, 6:9] = True  # oedema
    mask[2:4, 2:4, 2:4] = True
    mask[7, 7, 7] = True  # on the oedema
    scores = predict_real.core_scores(mask, core, tumour)
    assert scores == {"dice": 2 * 8 / (9 + 8), "core_touched": True, "fp_components": 1, "fp_outside_tumour": 0}
    assert "fp_outside_tumour" not in predict_real.core_scores(mask, core)
