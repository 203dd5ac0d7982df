"""The registration gate's verdict on one patient, and the step that acts on it.

In the workflow, co-registration always ends with a report per sequence
(passed, flagged or failed, with the problem, the mutual information, the
residual local shift and the user's file), so that the QC table lists a
failed patient too; the patient's verdict is the worst of them, and a
separate step stops that patient's chain on it. ``brainmets-predict`` has one patient and stops at
once (``pipeline.coregistration_step``).

Imports no ANTs: the workflow reads verdicts while it builds the job graph.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..cohort.validate import InputError
from ..niio import atomic_write_text

log = logging.getLogger(__name__)

# Worst last: a patient's verdict is the worst of its sequences'.
STATES = ("passed", "flagged", "failed")


def verdict(pid: str, reference: str, reports) -> dict:
    """The patient's verdict from the registration reports of its sequences
    (``pipeline.coregistration_step``'s); none registered: passed."""
    sequences = {
        r["sequence"]: {k: r.get(k) for k in ("file", "registration", "problem", "mi_before", "mi_after", "mi_drop_when_displaced", "residual_shift_mm")}
        for r in reports
    }
    status = max((s["registration"] for s in sequences.values()), key=STATES.index, default="passed")
    problems = [f"{seq}: {s['problem']}" for seq, s in sequences.items() if s["problem"]]
    return {
        "patient_id": pid,
        "reference": reference,
        "registration": status,
        "problem": "; ".join(problems) or None,
        "sequences": sequences,
    }


def read_reports(paths) -> list[dict]:
    return [json.loads(Path(p).read_text()) for p in paths]


def write_verdict(path, record: dict) -> None:
    atomic_write_text(path, json.dumps(record, indent=2))


def read_verdict(path) -> dict:
    record = json.loads(Path(path).read_text())
    if record.get("registration") not in STATES:
        raise ValueError(f"file {path}: registration verdict {record.get('registration')!r} is none of {', '.join(STATES)}")
    return record


def lets_through(record: dict) -> bool:
    """Whether the patient's chain goes on after co-registration."""
    return record["registration"] != "failed"


def failure(record: dict) -> InputError | None:
    """The failed patient's error: the first failed sequence's file and
    problem (the others' appended), or None."""
    failed = [(seq, s) for seq, s in record["sequences"].items() if s["registration"] == "failed"]
    if not failed:
        return None
    (seq, first), others = failed[0], failed[1:]
    also = "".join(f"; also {o} ({s['file']}): {s['problem']}" for o, s in others)
    return InputError(record["patient_id"], first["file"], f"{seq} registration onto the {record['reference']} is implausible: {first['problem']}{also}")


def verdict_step(pid: str, reference: str, report_paths, verdict_path) -> dict:
    """Write the patient's verdict, failed included (for the QC table)."""
    record = verdict(pid, reference, read_reports(report_paths))
    write_verdict(verdict_path, record)
    return record


def registration_gate_step(verdict_path, accepted_path) -> dict:
    """Stop the patient on a failed verdict (``verdict_step``'s); otherwise
    write it as the token its downstream steps wait for (flagged: with a
    warning)."""
    record = read_verdict(verdict_path)
    error = failure(record)
    if error is not None:
        raise error
    if record["registration"] == "flagged":
        log.warning("patient %s: implausible registration let through (implausible: warn): %s", record["patient_id"], record["problem"])
    write_verdict(accepted_path, record)
    return record
