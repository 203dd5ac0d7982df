"""The registration gate's verdict per patient and the step that acts on it."""

import json

import pytest

from brainmets.preprocessing.registration_gate import (
    failure,
    lets_through,
    read_verdict,
    registration_gate_step,
    verdict,
    verdict_step,
)

from .registration_reports import registration_report, write_reports


def test_verdict_is_the_worst_sequence():
    record = verdict("001", "BRAVO", [registration_report("T1pre", "passed"), registration_report("T1gd", "flagged", after=0.62), registration_report("FLAIR", "passed")])
    assert record["registration"] == "flagged" and lets_through(record)
    assert record["problem"].startswith("T1gd: mutual information 0.620") and failure(record) is None
    record = verdict("001", "BRAVO", [registration_report("T1pre", "failed", after=0.60), registration_report("T1gd", "flagged"), registration_report("FLAIR", "failed", after=0.55)])
    assert record["registration"] == "failed" and not lets_through(record)
    error = str(failure(record))
    assert error.startswith("patient '001', file /scans/T1pre.nii.gz: T1pre registration onto the BRAVO is implausible: mutual information 0.600")
    assert "also FLAIR (/scans/FLAIR.nii.gz): mutual information 0.550" in error and "\n" not in error
    assert verdict("001", "BRAVO", [])["registration"] == "passed"  # nothing to register


def test_gate_step_stops_a_failed_patient_and_passes_the_rest(tmp_path):
    accepted, verdict_path = tmp_path / "accepted.json", tmp_path / "verdict.json"
    failed = write_reports(tmp_path, [registration_report("FLAIR", "failed", before=0.31, after=0.58, pid="007", reference="T1gd")])
    # The verdict is written, failed too, for the QC table; the gate acts on it.
    assert verdict_step("007", "T1gd", failed, verdict_path)["registration"] == "failed"
    assert read_verdict(verdict_path)["sequences"]["FLAIR"]["mi_after"] == 0.58
    with pytest.raises(ValueError, match=r"^patient '007', file /scans/FLAIR.nii.gz: FLAIR registration onto the T1gd is implausible: mutual information 0.580 .*\(0.310 before\)$"):
        registration_gate_step(verdict_path, accepted)
    assert not accepted.exists()
    flagged = write_reports(tmp_path, [registration_report("FLAIR", "flagged", pid="007", reference="T1gd")])
    verdict_step("007", "T1gd", flagged, verdict_path)
    assert registration_gate_step(verdict_path, accepted)["registration"] == "flagged"
    assert read_verdict(accepted) == read_verdict(verdict_path) and read_verdict(accepted)["patient_id"] == "007"
    verdict_path.write_text(json.dumps({"patient_id": "007", "registration": "maybe"}))
    with pytest.raises(ValueError, match="verdict 'maybe' is none of passed, flagged, failed"):
        read_verdict(verdict_path)
