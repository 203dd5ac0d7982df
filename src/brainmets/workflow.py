"""Cohort resolution for the Snakemake workflow: which patients, which files."""

from __future__ import annotations

import os
from pathlib import Path

from .cohort import brainmetshare, brats
from .cohort.sheet import PatientRecord, read_sheet
from .phantom.generate import patient_ids, plan_subgroups
from .sequences import SEQUENCES


def jobs_import_from(source_tree) -> str:
    """Put ``source_tree`` first on the PYTHONPATH every job inherits, so a
    rule's script imports this package in the workflow's Python and in its
    own conda environment alike; returns the new PYTHONPATH."""
    paths = [str(source_tree)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(source_tree)]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    return os.environ["PYTHONPATH"]


def phantom_records(config: dict, phantom_files) -> list[PatientRecord]:
    """``phantom_files(pid)``: the files the phantom writes for a patient
    (rule phantom_patient's outputs, by name)."""
    ph = config["phantom"]
    subgroups = plan_subgroups(ph["n_patients"], ph["subgroup_proportions"], config["seed"])
    records = []
    for pid in patient_ids(ph["n_patients"]):
        files = phantom_files(pid)
        records.append(
            PatientRecord(
                patient_id=pid,
                images={seq: Path(files[seq]) for seq in SEQUENCES},
                lesions=Path(files["lesions"]),
                metadata={"planned_subgroup": subgroups[pid]},
                source="phantom",
            )
        )
    return records


def cohort_records(config: dict, run_dir, phantom_files=None) -> dict[str, PatientRecord]:
    """Patient records of the configured source, by patient id;
    ``phantom_files``: as for ``phantom_records``."""
    source = config["cohort"]["source"]
    if source == "phantom":
        records = phantom_records(config, phantom_files)
    elif source == "sheet":
        records = read_sheet(config["cohort"]["sheet"])
    elif source == "brainmetshare":
        records = brainmetshare.discover(config["cohort"]["brainmetshare_root"])
    elif source == "brats":
        root = config["cohort"].get("brats_root", "")
        if not root:
            raise ValueError("cohort.source is brats but cohort.brats_root is not set")
        labels = config["cohort"].get("brats_lesion_labels", brats.DEFAULT_LESION_LABELS)
        # Every job resolves the cohort: the cache spares re-reading each segmentation.
        records = brats.discover(root, labels, cache=Path(run_dir) / "cohort" / "brats_seg_labels.json")
    else:
        raise ValueError(f"unknown cohort source {source!r}: use phantom, sheet, brainmetshare or brats")
    return {r.patient_id: r for r in records}


def cohort_sequences(records: dict[str, PatientRecord], incomplete: str = "leave_out_sequence") -> tuple[tuple[str, ...], dict[str, list[str]]]:
    """The sequences the workflow uses (in the order of ``SEQUENCES``), and
    for each sequence some patients have but the workflow leaves out, the
    patients without it. One network is trained on one set of inputs:
    ``incomplete`` ``leave_out_sequence`` uses the sequences every patient
    has; ``test`` those more than half of the patients have, the patients
    lacking some of them being test patients (``incomplete_patients``)."""
    have = {pid: set(r.images) for pid, r in records.items()}
    if incomplete == "test":
        used = tuple(seq for seq in SEQUENCES if 2 * sum(seq in h for h in have.values()) > len(have))
    else:
        used = tuple(seq for seq in SEQUENCES if all(seq in h for h in have.values()))
    left_out = {seq: sorted(pid for pid, h in have.items() if seq not in h) for seq in SEQUENCES if seq not in used and any(seq in h for h in have.values())}
    if not used:
        raise ValueError("no sequence is given for every patient of the cohort: the network needs at least one common input")
    return used, left_out


def incomplete_patients(records: dict[str, PatientRecord], used, training: dict) -> dict[str, tuple[str, ...]]:
    """Patients lacking some of the ``used`` sequences, with what they lack
    (in the order of ``SEQUENCES``). They can only be test patients of a
    model trained to accept that gap (``training``'s sequence dropout), and
    need lesions to be evaluated: anything else fails here, naming them."""
    lacking = {pid: tuple(seq for seq in used if seq not in r.images) for pid, r in sorted(records.items())}
    lacking = {pid: missing for pid, missing in lacking.items() if missing}
    accepted = accepted_gaps(used, training)
    for pid, missing in lacking.items():
        record = records[pid]
        where = f"patient {pid} ({record.source} cohort)"
        if record.lesions is None:
            raise ValueError(f"{where}: lacks {', '.join(missing)} and has no lesion mask; a patient lacking a sequence is a test patient, which needs one")
        if frozenset(missing) not in accepted:
            how = (
                "training.sequence_dropout_sets or sequence_dropout_max_missing must include it"
                if training.get("sequence_dropout")
                else "training.sequence_dropout is 0: the model needs every input"
            )
            raise ValueError(f"{where}: lacks {', '.join(missing)}, which the model is not trained to do without ({how})")
    return lacking


def accepted_gaps(used, training: dict) -> set[frozenset]:
    """The sets of sequences a model trained with ``training`` on ``used``
    accepts missing: those its sequence dropout draws."""
    from .network.dataset import dropout_subsets, named_dropout_subsets

    if not training.get("sequence_dropout"):
        return set()
    used, named = list(used), training.get("sequence_dropout_sets")
    subsets = named_dropout_subsets(used, named) if named else dropout_subsets(len(used), training.get("sequence_dropout_max_missing"))
    return {frozenset(used[i] for i in subset) for subset in subsets}


def phantom_patient_plan(config: dict, pid: str) -> dict:
    """Index and planned lesion-count subgroup of one synthetic patient."""
    ph = config["phantom"]
    subgroups = plan_subgroups(ph["n_patients"], ph["subgroup_proportions"], config["seed"])
    return {"index": patient_ids(ph["n_patients"]).index(pid), "subgroup": subgroups[pid]}


def inputs_preprocessed(records: dict[str, PatientRecord]) -> bool:
    """Every patient's images came skull-stripped and co-registered
    (BrainMetShare, BraTS): prediction then skips those steps."""
    return all(r.metadata.get("preprocessed") for r in records.values())
