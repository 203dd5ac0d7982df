"""The registration gate's verdict per patient and the step that acts on it."""

import json

import nibabel as nib
import numpy as np
import pytest

from brainmets.preprocessing.pipeline import qc_table
from brainmets.preprocessing.registration_gate import (
    failure,
    lets_through,
    read_verdict,
    registration_gate_step,
    verdict,
    verdict_step,
)


def _report(seq, state, before=0.40, after=0.85, pid="001", reference="BRAVO"):
    """A sequence's registration report as coregistration_step writes it."""
    problem = None if state == "passed" else f"mutual information {after:.3f} after registration is below the floor 0.67 ({before:.3f} before)"
    return {"patient_id": pid, "sequence": seq, "reference": reference, "file": f"/scans/{seq}.nii.gz", "mi_before": before, "mi_after": after, "registration": state, "problem": problem}


def _write(tmp_path, reports):
    paths = []
    for r in reports:
        paths.append(tmp_path / f"{r['patient_id']}_{r['sequence']}.json")
        paths[-1].write_text(json.dumps(r))
    return paths


def test_verdict_is_the_worst_sequence():
    record = verdict("001", "BRAVO", [_report("T1pre", "passed"), _report("T1gd", "flagged", after=0.62), _report("FLAIR", "passed")])
    assert record["registration"] == "flagged" and lets_through(record)
    assert record["problem"].startswith("T1gd: mutual information 0.620") and failure(record) is None
    record = verdict("001", "BRAVO", [_report("T1pre", "failed", after=0.60), _report("T1gd", "flagged"), _report("FLAIR", "failed", after=0.55)])
    assert record["registration"] == "failed" and not lets_through(record)
    error = str(failure(record))
    assert error.startswith("patient '001', file /scans/T1pre.nii.gz: T1pre registration onto the BRAVO is implausible: mutual information 0.600")
    assert "also FLAIR (/scans/FLAIR.nii.gz): mutual information 0.550" in error and "\n" not in error
    assert verdict("001", "BRAVO", [])["registration"] == "passed"  # nothing to register


def test_gate_step_stops_a_failed_patient_and_passes_the_rest(tmp_path):
    accepted, verdict_path = tmp_path / "accepted.json", tmp_path / "verdict.json"
    failed = _write(tmp_path, [_report("FLAIR", "failed", before=0.31, after=0.58, pid="007", reference="T1gd")])
    # The verdict is written, failed too, for the QC table; the gate acts on it.
    assert verdict_step("007", "T1gd", failed, verdict_path)["registration"] == "failed"
    assert read_verdict(verdict_path)["sequences"]["FLAIR"]["mi_after"] == 0.58
    with pytest.raises(ValueError, match=r"^patient '007', file /scans/FLAIR.nii.gz: FLAIR registration onto the T1gd is implausible: mutual information 0.580 .*\(0.310 before\)$"):
        registration_gate_step(verdict_path, accepted)
    assert not accepted.exists()
    flagged = _write(tmp_path, [_report("FLAIR", "flagged", pid="007", reference="T1gd")])
    verdict_step("007", "T1gd", flagged, verdict_path)
    assert registration_gate_step(verdict_path, accepted)["registration"] == "flagged"
    assert read_verdict(accepted) == read_verdict(verdict_path) and read_verdict(accepted)["patient_id"] == "007"
    verdict_path.write_text(json.dumps({"patient_id": "007", "registration": "maybe"}))
    with pytest.raises(ValueError, match="verdict 'maybe' is none of passed, flagged, failed"):
        read_verdict(verdict_path)


def test_qc_table_lists_a_failed_patient_with_its_reason(tmp_path):
    """The failed patient has no normalisation report; its row still stands."""
    bet, xfm, verdicts = [], [], []
    for pid, state in (("001", "failed"), ("002", "passed")):
        bet.append(tmp_path / f"{pid}_bet.json")
        bet[-1].write_text(json.dumps({"patient_id": pid, "engine": "python", "mask_volume_ml": 1400.0}))
        xfm += _write(tmp_path, [_report("T1gd", state, after=0.6 if state == "failed" else 0.85, pid=pid)])
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
    xfm = _write(tmp_path, [_report("FLAIR", "passed", pid="x07", reference="T1gd")])
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
