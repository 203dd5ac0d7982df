"""The registration gate's verdict per patient and the step that acts on it."""

import json

import pytest

from brainmets.preprocessing.pipeline import qc_table
from brainmets.preprocessing.registration_gate import failure, lets_through, read_verdict, registration_gate_step, user_files, verdict, write_verdict


def _report(state, before=0.40, after=0.85):
    problem = None if state == "passed" else f"mutual information {after:.3f} after registration is below the floor 0.67 ({before:.3f} before)"
    return {"mi_before": before, "mi_after": after, "worse_than_start": False, "registration": state, "problem": problem}


def test_verdict_is_the_worst_sequence():
    files = {"T1pre": "a.nii.gz", "T1gd": "b.nii.gz", "FLAIR": "c.nii.gz"}
    record = verdict("001", "BRAVO", {"T1pre": _report("passed"), "T1gd": _report("flagged", after=0.62), "FLAIR": _report("passed")}, files)
    assert record["registration"] == "flagged" and lets_through(record)
    assert record["problem"].startswith("T1gd: mutual information 0.620") and failure(record) is None
    record = verdict("001", "BRAVO", {"T1pre": _report("failed", after=0.60), "T1gd": _report("flagged"), "FLAIR": _report("failed", after=0.55)}, files)
    assert record["registration"] == "failed" and not lets_through(record)
    error = str(failure(record))
    assert error.startswith("patient '001', file a.nii.gz: T1pre registration onto the BRAVO is implausible: mutual information 0.600")
    assert "also FLAIR (c.nii.gz): mutual information 0.550" in error and "\n" not in error
    assert verdict("001", "BRAVO", {}, {})["registration"] == "passed"  # nothing to register


def test_gate_step_stops_a_failed_patient_and_passes_the_rest(tmp_path):
    path, accepted = tmp_path / "verdict.json", tmp_path / "accepted.json"
    write_verdict(path, verdict("007", "T1gd", {"FLAIR": _report("failed", before=0.31, after=0.58)}, {"FLAIR": "/data/other_FLAIR.nii.gz"}))
    with pytest.raises(ValueError, match=r"^patient '007', file /data/other_FLAIR.nii.gz: FLAIR registration onto the T1gd is implausible: mutual information 0.580 .*\(0.310 before\)$"):
        registration_gate_step(path, accepted)
    assert not accepted.exists()
    write_verdict(path, verdict("007", "T1gd", {"FLAIR": _report("flagged")}, {"FLAIR": "f.nii.gz"}))
    assert registration_gate_step(path, accepted)["registration"] == "flagged"
    assert read_verdict(accepted)["patient_id"] == "007"
    path.write_text(json.dumps({"patient_id": "007", "registration": "maybe"}))
    with pytest.raises(ValueError, match="verdict 'maybe' is none of passed, flagged, failed"):
        read_verdict(path)


def test_qc_table_lists_a_failed_patient_with_its_reason(tmp_path):
    """The failed patient has no normalisation report; its row still stands."""
    files = {}
    for pid, state in (("001", "failed"), ("002", "passed")):
        files[pid] = {name: tmp_path / f"{pid}_{name}.json" for name in ("bet", "xfm", "verdict", "normalize")}
        files[pid]["bet"].write_text(json.dumps({"patient_id": pid, "engine": "python", "mask_volume_ml": 1400.0}))
        report = _report(state, after=0.6 if state == "failed" else 0.85)
        files[pid]["xfm"].write_text(json.dumps({"patient_id": pid, "sequence": "T1gd", **report}))
        write_verdict(files[pid]["verdict"], verdict(pid, "BRAVO", {"T1gd": report}, {"T1gd": f"{pid}_T1gd.nii.gz"}))
    files["002"]["normalize"].write_text(json.dumps({"patient_id": "002", "mask_dice": 0.93}))
    table = qc_table(
        [files[p]["bet"] for p in files], [files[p]["xfm"] for p in files], [files["002"]["normalize"]], verdicts=[files[p]["verdict"] for p in files]
    ).set_index("patient_id")
    assert table.status.to_dict() == {"001": "failed", "002": "passed"}
    assert table.loc["001", "problem"].startswith("registration: T1gd: mutual information 0.600") and table.loc["002", "problem"] is None
    assert table.loc["001", "T1gd_registration"] == "failed" and table.loc["002", "mask_dice"] == 0.93


def test_failures_name_the_users_file(tmp_path):
    patient = tmp_path / "patient.json"
    patient.write_text(json.dumps({"patient_id": "001", "images": {"T1gd": {"source": "/scans/other_T1gd.nii"}}}))
    copies = {"T1gd": "cohort/sub-001_T1gd.nii.gz", "FLAIR": "cohort/sub-001_FLAIR.nii.gz"}
    assert user_files(patient, copies) == {"T1gd": "/scans/other_T1gd.nii", "FLAIR": "cohort/sub-001_FLAIR.nii.gz"}
