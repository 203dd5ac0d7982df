"""The paper's metrics on hand-built volumes whose answers are known."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

from brainmets.evaluation.metrics import EvaluationSettings, evaluate_patient, lesionwise_brats
from brainmets.evaluation.roc import brain_roc
from brainmets.evaluation.statistics import ranksum
from brainmets.evaluation.tables import bootstrap, table3, table4

AFFINE = np.diag([1.0, 1.0, 1.0, 1.0])
SETTINGS = EvaluationSettings(threshold=0.5)


def empty():
    return np.zeros((30, 30, 20), np.uint8)


def brain():
    b = empty()
    b[2:28, 2:28, 2:18] = 1
    return b


def test_auc_and_youden_agree_with_scikit_learn_including_ties():
    rng = np.random.default_rng(0)
    truth = rng.random(5000) < 0.1
    score = np.round(np.where(truth, rng.normal(0.7, 0.2, 5000), rng.normal(0.4, 0.2, 5000)), 2)  # many ties
    roc = brain_roc(truth, score, np.ones_like(truth))
    assert roc.auc() == pytest.approx(roc_auc_score(truth, score), abs=1e-9)
    fpr, tpr, thr = roc_curve(truth, score, drop_intermediate=False)
    np.testing.assert_allclose(roc.fpr, fpr, atol=1e-12)
    np.testing.assert_allclose(roc.tpr, tpr, atol=1e-12)
    i = np.argmax(tpr - fpr)
    youden = roc.youden()
    assert youden["threshold"] == pytest.approx(thr[i]) and youden["sensitivity"] == pytest.approx(tpr[i])


def test_roc_only_inside_the_brain():
    truth, b, prob = empty(), brain(), np.zeros((30, 30, 20), np.float32)
    truth[10:13, 10:13, 10:13] = 1
    prob[truth > 0] = 0.9
    prob[0, 0, 0] = 1.0  # outside the brain: must not count as a false positive
    assert brain_roc(truth, prob, b).auc() == pytest.approx(1.0)


def test_prediction_touching_two_lesions_detects_both():
    truth, prob = empty(), np.zeros((30, 30, 20), np.float32)
    truth[5:8, 5:8, 5:8] = 1
    truth[5:8, 11:14, 5:8] = 1
    prob[6, 6:13, 6] = 0.9  # one bridge through both
    row, lesions, fps, _ = evaluate_patient(truth, prob, brain(), AFFINE, SETTINGS)
    assert (row["lesions"], row["detected_lesions"], row["predicted_components"], row["fp_components"]) == (2, 2, 1, 0)
    assert row["lesion_sensitivity"] == 1.0


def test_lesion_split_in_two_predictions_counts_once_without_false_positive():
    truth, prob = empty(), np.zeros((30, 30, 20), np.float32)
    truth[5:15, 5:8, 5:8] = 1
    prob[5:7, 5:8, 5:8] = 0.9
    prob[12:15, 5:8, 5:8] = 0.9
    row, *_ = evaluate_patient(truth, prob, brain(), AFFINE, SETTINGS)
    assert (row["lesions"], row["detected_lesions"], row["predicted_components"], row["fp_components"]) == (1, 1, 2, 0)


def test_a_least_peak_leaves_out_middling_blobs_and_keeps_a_faint_lesions_extent():
    """evaluation.lesion_min_peak_probability: the blob at 0.8 is no longer
    a false positive; the lesion, sure only at its centre, keeps its 0.6
    voxels (Dice 1)."""
    truth, prob = empty(), np.zeros((30, 30, 20), np.float32)
    truth[5:8, 5:8, 5:8] = 1
    prob[5:8, 5:8, 5:8] = 0.6
    prob[6, 6, 6] = 0.99
    prob[15:20, 15:20, 8:12] = 0.8
    plain, *_ = evaluate_patient(truth, prob, brain(), AFFINE, SETTINGS)
    peaked, *_ = evaluate_patient(truth, prob, brain(), AFFINE, EvaluationSettings(threshold=0.5, min_peak_probability=0.95))
    assert (plain["fp_components"], peaked["fp_components"]) == (1, 0)
    assert peaked["dice"] == pytest.approx(1.0) and peaked["detected_lesions"] == 1
    assert peaked["auc"] == plain["auc"]  # voxel-wise, on the probabilities


@pytest.mark.parametrize("covered, found", [(10, False), (11, True)])
def test_found_needs_more_than_ten_percent(covered, found):
    truth, prob = empty(), np.zeros((30, 30, 20), np.float32)
    truth[5:15, 5:15, 5] = 1  # 100 voxels
    prob[np.nonzero(truth)[0][:covered], np.nonzero(truth)[1][:covered], 5] = 0.1  # exactly the size threshold
    _, lesions, _, _ = evaluate_patient(truth, prob, brain(), AFFINE, SETTINGS)
    assert lesions[0]["overlap"] == pytest.approx(covered / 100)
    assert lesions[0]["found"] is found


def test_patient_without_lesions():
    prob = np.zeros((30, 30, 20), np.float32)
    prob[10:12, 10:12, 10:12] = 0.9
    row, lesions, fps, roc = evaluate_patient(empty(), prob, brain(), AFFINE, SETTINGS)
    assert np.isnan(row["auc"]) and np.isnan(row["recall"]) and np.isnan(row["lesion_sensitivity"])
    assert row["fp_components"] == 1 and lesions == [] and fps[0]["volume_mm3"] == 8.0
    assert row["precision"] == 0.0


def test_no_positive_voxel_leaves_precision_undefined():
    truth = empty()
    truth[5:8, 5:8, 5:8] = 1
    row, *_ = evaluate_patient(truth, np.zeros((30, 30, 20), np.float32), brain(), AFFINE, SETTINGS)
    assert np.isnan(row["precision"]) and row["precision_defined"] is False
    assert row["recall"] == 0.0 and row["dice"] == 0.0 and row["detected_lesions"] == 0
    assert row["auc"] == pytest.approx(0.5)  # all scores tied


def test_false_positive_size_limit_uses_physical_volume():
    prob = np.zeros((30, 30, 20), np.float32)
    prob[10, 10, 10:13] = 0.9  # 3 voxels
    truth = empty()
    truth[20:23, 20:23, 5:8] = 1
    iso, *_ = evaluate_patient(truth, prob, brain(), AFFINE, SETTINGS)
    thick, *_ = evaluate_patient(truth, prob, brain(), np.diag([1.0, 1.0, 4.0, 1.0]), SETTINGS)
    assert iso["fp_components"] == thick["fp_components"] == 1
    assert iso["fp_components_min_volume"] == 0  # 3 mm^3
    assert thick["fp_components_min_volume"] == 1  # 12 mm^3


def test_voxel_metrics_at_threshold():
    truth, prob = empty(), np.zeros((30, 30, 20), np.float32)
    truth[5:9, 5:9, 5:9] = 1  # 64 voxels
    prob[5:9, 5:9, 5:7] = 0.95  # 32 true positives
    prob[20:22, 20:22, 5:7] = 0.95  # 8 false positives
    row, *_ = evaluate_patient(truth, prob, brain(), AFFINE, SETTINGS)
    assert row["precision"] == pytest.approx(32 / 40) and row["recall"] == pytest.approx(0.5)
    assert row["dice"] == pytest.approx(64 / (64 + 8 + 32))


def test_lesionwise_dice_and_hausdorff():
    truth = empty().astype(bool)
    truth[5:9, 5:9, 5:9] = True
    truth[20:23, 20:23, 10:13] = True  # missed
    pred = np.zeros_like(truth)
    pred[5:9, 5:9, 5:9] = True  # perfect on the first
    pred[15, 25, 15] = True  # a false positive
    r = lesionwise_brats(truth, pred, AFFINE)
    assert r["brats_false_positives"] == 1
    assert r["lesionwise_dice"] == pytest.approx(1 / 3)
    assert r["lesionwise_hd95_mm"] == pytest.approx((0 + 374 + 374) / 3)


def test_ranksum_matches_scipy():
    rng = np.random.default_rng(3)
    for n1, n2, method in [(5, 7, "exact"), (3, 9, "exact"), (17, 17, "asymptotic"), (12, 30, "asymptotic")]:
        x, y = rng.normal(size=n1), rng.normal(0.7, size=n2)
        ours = ranksum(x, y)
        theirs = stats.mannwhitneyu(x, y, alternative="two-sided", method=method, use_continuity=True)
        assert ours["p"] == pytest.approx(theirs.pvalue, abs=1e-9)
        assert ours["method"].startswith("exact" if method == "exact" else "normal")
    x, y = np.round(rng.normal(size=12), 1), np.round(rng.normal(0.5, size=15), 1)  # large, tied: normal approximation
    theirs = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    assert ranksum(x, y)["p"] == pytest.approx(theirs.pvalue, abs=1e-9)
    assert ranksum(x, y)["method"].startswith("normal")
    assert np.isnan(ranksum([np.nan], [1.0, 2.0])["p"])


def test_tables_from_per_patient_rows():
    rng = np.random.default_rng(4)
    groups = ["1-3"] * 5 + ["4-10"] * 5 + [">10"] * 5
    df = pd.DataFrame({"patient_id": [f"{i:03d}" for i in range(15)], "subgroup": groups})
    for column in ["auc", "sensitivity", "specificity", "dice", "recall", "precision", "lesion_sensitivity", "fp_components", "fp_components_min_volume", "lesionwise_dice", "lesionwise_hd95_mm"]:
        df[column] = rng.random(15)
    df.loc[0, "precision"] = np.nan
    t3 = table3(df, "3B").set_index("subgroup")
    assert t3.loc["G1 (1-3)", "precision_n"] == 4
    assert t3.loc["All", "dice_mean"] == pytest.approx(df.dice.mean())
    assert t3.loc["All", "dice_sd"] == pytest.approx(df.dice.std(ddof=1))
    t4 = table4(df, "4A").set_index("metric")
    p = stats.mannwhitneyu(df.auc[:5], df.auc[5:10], alternative="two-sided", method="exact").pvalue
    assert t4.loc["AUC", "G1 vs G2"] == pytest.approx(p, abs=1e-9)
    a, b = bootstrap(df, seed=1, resamples=500), bootstrap(df, seed=1, resamples=500)
    pd.testing.assert_frame_equal(a, b)
    row = a.set_index("metric").loc["dice"]
    assert row.ci95_low < row["mean"] < row.ci95_high


def test_settings_from_the_configuration():
    from pathlib import Path

    import yaml

    from brainmets.evaluation.metrics import EvaluationSettings, configured_settings

    config = yaml.safe_load((Path(__file__).parents[2] / "config.yaml").read_text())
    settings = EvaluationSettings.from_config(config, threshold=0.5)
    ev = config["evaluation"]
    assert settings == EvaluationSettings(
        threshold=0.5, size_threshold=ev["size_threshold"], found_fraction=ev["found_fraction"],
        min_fp_volume_mm3=ev["min_fp_volume_mm3"], brats_dilation=ev["brats_dilation"],
        connectivity=config["cohort"]["lesion_connectivity"], min_peak_probability=ev["lesion_min_peak_probability"],
    )
    assert EvaluationSettings(threshold=0.5, **configured_settings(config)) == settings
    assert list(configured_settings(config)) == [
        "size_threshold", "found_fraction", "min_fp_volume_mm3", "brats_dilation", "connectivity", "lesion_join_mm", "lesion_min_volume_mm3",
        "min_peak_probability",
    ]


def test_lesion_instances_count_truth_and_prediction_alike():
    """An expert's tumour in two pieces with a stray voxel: with the real
    cohort's instances it is one lesion, found once, and the prediction's
    specks count as nothing."""
    truth, prob = empty(), np.zeros((30, 30, 20), np.float32)
    truth[5:9, 5:9, 5:9] = 1
    truth[10:13, 5:9, 5:9] = 1  # the same tumour beyond a one-voxel gap
    truth[20, 20, 10] = 1  # a stray voxel of the annotation
    prob[5:13, 5:9, 5:9] = 0.9
    prob[24, 5, 5] = 0.9  # a one-voxel false positive
    exact, lesions_exact, *_ = evaluate_patient(truth, prob, brain(), AFFINE, SETTINGS)
    assert (exact["lesions"], exact["detected_lesions"], exact["fp_components"]) == (3, 2, 1)
    reader = EvaluationSettings(threshold=0.5, lesion_join_mm=2.0, lesion_min_volume_mm3=5.0)
    row, lesions, *_ = evaluate_patient(truth, prob, brain(), AFFINE, reader)
    assert (row["lesions"], row["detected_lesions"], row["lesion_sensitivity"], row["fp_components"]) == (1, 1, 1.0, 0)
    assert len(lesions) == 1 and lesions[0]["voxels"] == 64 + 48 and lesions[0]["found"]
    assert row["dice"] == exact["dice"]  # voxel metrics do not depend on what a lesion is
    assert row["brats_false_positives"] == 0 and exact["brats_false_positives"] == 1
