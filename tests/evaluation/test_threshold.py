"""Operating points on development patients (``evaluation.threshold``): the paper's mean Youden
threshold, the Dice optimum and the FROC point, on hand-built maps."""

import json

import numpy as np
import pytest

from brainmets.evaluation.metrics import EvaluationSettings
from brainmets.evaluation.tables import operating_points as points_table
from brainmets.evaluation.threshold import operating_points, operating_threshold
from brainmets.niio import save_nifti

AFFINE = np.array([[0, 0, 2.0, -30], [-1.5, 0, 0, 40], [0, 1.5, 0, -20], [0, 0, 0, 1]])


def _patient(folder, pid, lesion_prob, fp_prob):
    """Two 3x3x3 lesions: one at ``lesion_prob``, one at 0.35; a lesion-free
    blob at ``fp_prob``; background 0.01."""
    truth = np.zeros((24, 24, 12), np.uint8)
    truth[3:6, 3:6, 3:6] = 1
    truth[14:17, 3:6, 3:6] = 1
    prob = np.full(truth.shape, 0.01, np.float32)
    prob[3:6, 3:6, 3:6] = lesion_prob
    prob[14:17, 3:6, 3:6] = 0.35
    prob[15:19, 15:19, 6:9] = fp_prob
    files = {}
    for name, data in (("probability", prob), ("lesions", truth), ("brain_mask", np.ones_like(truth))):
        files[name] = folder / f"sub-{pid}_{name}.nii.gz"
        save_nifti(files[name], data, AFFINE)
    return files


@pytest.fixture
def dev(tmp_path):
    return {"d1": _patient(tmp_path, "d1", 0.9, 0.25), "d2": _patient(tmp_path, "d2", 0.8, 0.2)}


def test_three_operating_points(dev):
    result = operating_threshold(dev, "dice", froc_max_fp=0.0, settings=EvaluationSettings())
    points = result["candidates"]
    assert set(points) == {"youden", "dice", "froc"}
    # The paper's rule: mean of the patients' Youden thresholds.
    youden = [p["threshold"] for p in result["dev_patients"].values()]
    assert points["youden"]["threshold"] == pytest.approx(np.mean(youden))
    # Dice peaks where both lesions are in and the blobs out: 0.25 < t <= 0.35.
    assert 0.25 < points["dice"]["threshold"] <= 0.35 and points["dice"]["dice"] == pytest.approx(1.0)
    assert result["operating_threshold"] == points["dice"]["threshold"] and result["operating_point"] == "dice"
    # No false positive allowed: both lesions are still found above the blobs.
    assert points["froc"]["fp_per_patient"] == 0 and points["froc"]["lesion_sensitivity"] == 1.0
    # Sensitivity never rises with the threshold; each blob is one false positive while it is in.
    curve = sorted(result["dev_curve"], key=lambda r: r["threshold"])
    assert all(a["lesion_sensitivity"] >= b["lesion_sensitivity"] for a, b in zip(curve, curve[1:]))
    assert {r["fp_per_patient"] for r in curve if 0.02 <= r["threshold"] <= 0.2} == {1.0}
    assert {r["fp_per_patient"] for r in curve if 0.26 <= r["threshold"]} == {0.0}
    json.dumps(result, allow_nan=False)  # no Infinity or NaN in threshold.json


def test_tables_mark_the_used_point(dev):
    result = operating_threshold(dev, "froc", froc_max_fp=1.0)
    points, curve = points_table({"main": result})
    assert points.loc[points.used, "operating_point"].tolist() == ["froc"]
    assert len(curve) == len(result["dev_curve"]) and set(curve.model) == {"main"}


def test_undefined_point_falls_back_and_bad_choice_fails(dev):
    rows = [{"threshold": 0.5, "dice": float("nan"), "lesion_sensitivity": float("nan"), "fp_per_patient": 0.0}]
    assert operating_points(rows, {"x": {"threshold": None}}, 8.3) == {}
    with pytest.raises(ValueError, match="operating point must be one of youden, dice, froc"):
        operating_threshold(dev, "best")


def test_the_least_peak_drops_blobs_at_every_threshold_and_is_kept_for_prediction(dev):
    """The blobs (0.25, 0.2) never reach 0.3: no false positive at any
    threshold, while the faint lesion (0.35) still counts below 0.35. The
    Youden thresholds are voxel-wise, unchanged; threshold.json records
    the setting for brainmets-predict."""
    plain = operating_threshold(dev, "youden", settings=EvaluationSettings())
    peaked = operating_threshold(dev, "youden", settings=EvaluationSettings(min_peak_probability=0.3))
    assert peaked["lesion_min_peak_probability"] == 0.3 and plain["lesion_min_peak_probability"] == 0.0
    assert peaked["dev_patients"] == plain["dev_patients"]
    assert {r["fp_per_patient"] for r in peaked["dev_curve"]} == {0.0}
    assert max(r["fp_per_patient"] for r in plain["dev_curve"]) == 1.0
    low = min(peaked["dev_curve"], key=lambda r: abs(r["threshold"] - 0.3))
    assert low["lesion_sensitivity"] == 1.0
