"""Registration reports as ``pipeline.coregistration_step`` writes them,
for the tests of the verdict and the QC table."""

import json


def registration_report(seq, state, before=0.40, after=0.85, pid="001", reference="BRAVO"):
    """A sequence's registration report as coregistration_step writes it."""
    problem = None if state == "passed" else f"mutual information {after:.3f} after registration is below the floor 0.67 ({before:.3f} before)"
    return {"patient_id": pid, "sequence": seq, "reference": reference, "file": f"/scans/{seq}.nii.gz", "mi_before": before, "mi_after": after, "registration": state, "problem": problem}


def write_reports(tmp_path, reports):
    paths = []
    for r in reports:
        paths.append(tmp_path / f"{r['patient_id']}_{r['sequence']}.json")
        paths[-1].write_text(json.dumps(r))
    return paths
