"""One test patient evaluated from its files; all patients collected."""

import json

import numpy as np
import pytest

from brainmets.evaluation.patient import FPR_GRID, collect, evaluate_patient_files
from brainmets.niio import save_nifti

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])
SHAPE = (12, 12, 12)


def _patient(folder, pid="p1", subgroup="1-3", lesions=True, affine=AFFINE):
    """Two lesions (one found at the threshold, one not), one false positive."""
    rng = np.random.default_rng(5)
    prob = (0.04 * rng.random(SHAPE)).astype(np.float32)
    truth = np.zeros(SHAPE, np.uint8)
    brain = np.zeros(SHAPE, np.uint8)
    brain[1:-1, 1:-1, 1:-1] = 1
    if lesions:
        truth[2:4, 2:4, 2:4] = 1  # found
        truth[8:10, 8:10, 8:10] = 1  # missed
        prob[2:4, 2:4, 2:4] = 0.99
        prob[8:10, 8:10, 8:10] = 0.05
    prob[2:4, 8:10, 2:4] = 0.95  # a false positive of 8 voxels, 64 mm3
    prob[0] = 0.99  # outside the brain: ignored
    files = {name: folder / f"{pid}_{name}.nii.gz" for name in ("probability", "lesions", "brain_mask")}
    save_nifti(files["probability"], prob, affine)
    save_nifti(files["lesions"], truth, AFFINE)
    save_nifti(files["brain_mask"], brain, AFFINE)
    files["threshold"] = folder / "threshold.json"
    files["threshold"].write_text(json.dumps({"operating_threshold": 0.9}))
    files["patient"] = folder / f"{pid}_patient.json"
    files["patient"].write_text(json.dumps({"subgroup": subgroup}))
    return files, brain


SETTINGS = {"connectivity": 26, "min_fp_volume_mm3": 10.0, "size_threshold": 0.1, "found_fraction": 0.1}


def test_evaluate_patient_files(tmp_path):
    files, brain = _patient(tmp_path)
    result = evaluate_patient_files("p1", "main", files, SETTINGS, tmp_path / "out" / "p1.json")
    assert result == json.loads((tmp_path / "out" / "p1.json").read_text())
    assert (result["patient_id"], result["model"], result["subgroup"], result["operating_threshold"]) == ("p1", "main", "1-3", 0.9)
    # 8 true, 8 false and 8 missed voxels at the threshold.
    assert result["precision"] == pytest.approx(0.5) and result["recall"] == pytest.approx(0.5) and result["dice"] == pytest.approx(0.5)
    assert (result["lesions"], result["detected_lesions"], result["fp_components"], result["fp_components_min_volume"]) == (2, 1, 1, 1)
    assert result["lesion_voxels"] == 16
    negatives = int(brain.sum()) - 16
    assert result["auc"] == pytest.approx(0.5 + 0.5 * (negatives - 8) / negatives)
    rows = sorted(result["lesion_rows"], key=lambda r: r["lesion"])
    assert [(r["voxels"], r["found"]) for r in rows] == [(8, True), (8, False)]
    assert [r["volume_mm3"] for r in rows] == pytest.approx([64.0, 64.0])
    assert result["false_positive_rows"] == [{"component": 2, "volume_mm3": pytest.approx(64.0)}]
    tpr = np.array(result["roc_tpr"], float)
    assert tpr.shape == FPR_GRID.shape and tpr[-1] == pytest.approx(1.0)
    assert np.all(np.diff(tpr) >= 0)
    # Half the lesion voxels come before any false positive.
    assert tpr[1] == pytest.approx(0.5)


def test_without_lesions_the_roc_is_undefined_and_written_as_nulls(tmp_path):
    files, _ = _patient(tmp_path, subgroup="0", lesions=False)
    result = evaluate_patient_files("p1", "main", files, SETTINGS, tmp_path / "p1.json")
    assert result["roc_tpr"] == [None] * len(FPR_GRID)
    assert result["lesions"] == 0 and result["fp_components"] == 1 and result["lesion_rows"] == []
    assert np.isnan(result["auc"]) and np.isnan(result["recall"])


def test_a_probability_map_on_another_grid_is_refused(tmp_path):
    files, _ = _patient(tmp_path, affine=np.diag([2.0, 2.0, 2.5, 1.0]))
    with pytest.raises(ValueError, match="not on the grid of"):
        evaluate_patient_files("p1", "main", files, SETTINGS, tmp_path / "p1.json")
    assert not (tmp_path / "p1.json").exists()


def test_collect(tmp_path):
    outputs = []
    for pid, subgroup, lesions in (("p2", "0", False), ("p1", "1-3", True)):
        folder = tmp_path / pid
        folder.mkdir()
        files, _ = _patient(folder, pid, subgroup, lesions)
        outputs.append(tmp_path / f"{pid}.json")
        evaluate_patient_files(pid, "main", files, SETTINGS, outputs[-1])
    frames = collect(outputs)
    per_patient = frames["per_patient"]
    assert per_patient.patient_id.tolist() == ["p1", "p2"]
    assert not {"lesion_rows", "false_positive_rows", "roc_tpr"} & set(per_patient.columns)
    assert per_patient.set_index("patient_id").fp_components.to_dict() == {"p1": 1, "p2": 1}
    lesions = frames["lesions"]
    assert lesions.columns.tolist()[:5] == ["patient_id", "subgroup", "model", "kind", "lesion"]
    kinds = lesions.groupby(["patient_id", "kind"]).size().to_dict()
    assert kinds == {("p1", "lesion"): 2, ("p1", "false_positive"): 1, ("p2", "false_positive"): 1}
    fp = lesions[lesions.kind == "false_positive"]
    assert fp.volume_mm3.tolist() == pytest.approx([64.0, 64.0]) and fp.found.isna().all()
    roc = frames["roc"]
    assert roc.patient_id.tolist() == ["p1", "p2"]
    assert roc.shape[1] == 3 + len(FPR_GRID) and roc.iloc[0]["1"] == pytest.approx(1.0)
    assert roc.iloc[1].iloc[3:].isna().all()
