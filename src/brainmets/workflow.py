"""Cohort resolution for the Snakemake workflow: which patients, which files."""

from __future__ import annotations

from pathlib import Path

from .cohort import brainmetshare
from .cohort.sheet import PatientRecord, read_sheet
from .phantom.generate import patient_ids, phantom_paths, plan_subgroups
from .sequences import SEQUENCES


def phantom_records(config: dict, run_dir) -> list[PatientRecord]:
    ph = config["phantom"]
    subgroups = plan_subgroups(ph["n_patients"], ph["subgroup_proportions"], config["seed"])
    records = []
    for pid in patient_ids(ph["n_patients"]):
        out = Path(run_dir) / "phantom" / f"sub-{pid}"
        paths = phantom_paths(out, pid)
        records.append(
            PatientRecord(
                patient_id=pid,
                images={seq: paths[seq] for seq in SEQUENCES},
                lesions=paths["lesions"],
                metadata={"planned_subgroup": subgroups[pid]},
                source="phantom",
                truth_dir=out / "truth",
            )
        )
    return records


def cohort_records(config: dict, run_dir) -> dict[str, PatientRecord]:
    """Patient records of the configured source, by patient id."""
    source = config["cohort"]["source"]
    if source == "phantom":
        records = phantom_records(config, run_dir)
    elif source == "sheet":
        records = read_sheet(config["cohort"]["sheet"])
    elif source == "brainmetshare":
        records = brainmetshare.discover(config["cohort"]["brainmetshare_root"])
    else:
        raise ValueError(f"unknown cohort source {source!r}: use phantom, sheet or brainmetshare")
    return {r.patient_id: r for r in records}
