"""The preprocessing QC table (``preprocessing.qc_table``): a row per
patient, a failed one and one preprocessed on its own reference included."""

import json

import nibabel as nib
import numpy as np
import pytest

from brainmets.preprocessing.qc_table import qc_table
from brainmets.preprocessing.registration_gate import verdict_step

from .registration_reports import registration_report, write_reports


def test_qc_table_lists_a_failed_patient_with_its_reason(tmp_path):
    """The failed patient has no normalisation report; its row still stands."""
    bet, xfm, verdicts = [], [], []
    for pid, state in (("001", "failed"), ("002", "passed")):
        bet.append(tmp_path / f"{pid}_bet.json")
        bet[-1].write_text(json.dumps({"patient_id": pid, "engine": "python", "mask_volume_ml": 1400.0}))
        xfm += write_reports(tmp_path, [registration_report("T1gd", state, after=0.6 if state == "failed" else 0.85, pid=pid)])
        verdicts.append(tmp_path / f"{pid}_verdict.json")
        verdict_step(pid, "BRAVO", xfm[-1:], verdicts[-1])
    normalize = tmp_path / "002_normalize.json"
    normalize.write_text(json.dumps({"patient_id": "002", "mask_dice": 0.93}))
    table = qc_table(bet, xfm, [normalize], verdicts=verdicts).set_index("patient_id")
    assert table.status.to_dict() == {"001": "failed", "002": "passed"}
    assert table.loc["001", "problem"].startswith("registration: T1gd: mutual information 0.600") and table.loc["002", "problem"] is None
    assert table.loc["001", "T1gd_registration"] == "failed" and table.loc["002", "mask_dice"] == 0.93


def test_qc_table_has_a_row_for_a_patient_preprocessed_on_its_own_reference(tmp_path):
    """A test patient without BRAVO: its steps' reports, named by its
    own-reference report, make its row, on the T1gd grid."""
    bet, normalize = tmp_path / "x07_bet.json", tmp_path / "x07_normalize.json"
    bet.write_text(json.dumps({"patient_id": "x07", "engine": "python", "mask_volume_ml": 1300.0}))
    normalize.write_text(json.dumps({"patient_id": "x07", "reference": "T1gd", "mask_dice": None}))
    xfm = write_reports(tmp_path, [registration_report("FLAIR", "passed", pid="x07", reference="T1gd")])
    mask, lesions = np.zeros((6, 6, 6), np.uint8), np.zeros((6, 6, 6), np.uint8)
    mask[1:5, 1:5, 1:5] = 1
    lesions[2:4, 2:4, 2] = 1
    lesions[0, 0, 0] = 1  # outside the brain mask
    for name, data in (("mask", mask), ("lesions", lesions)):
        nib.save(nib.Nifti1Image(data, np.diag([2.0, 2.0, 3.0, 1.0])), tmp_path / f"x07_{name}.nii.gz")
    own = tmp_path / "x07_preprocessing.json"
    own.write_text(json.dumps({
        "patient_id": "x07", "reference": "T1gd",
        "reports": {"brain_extraction": str(bet), "normalization": str(normalize), "coregistration": [str(f) for f in xfm]},
        "brain_mask": str(tmp_path / "x07_mask.nii.gz"), "lesions": str(tmp_path / "x07_lesions.nii.gz"),
    }))
    table = qc_table([], [], [], own_reference_reports=[own]).set_index("patient_id")
    row = table.loc["x07"]
    assert row.status == "passed" and row.reference == "T1gd" and row.engine == "python"
    assert row.FLAIR_registration == "passed" and row.FLAIR_mi_gain == pytest.approx(0.45)
    assert (row.lesion_voxels, row.lesion_voxels_outside_mask) == (5, 1)
