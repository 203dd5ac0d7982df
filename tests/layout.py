"""Folder layouts the tests write patients into (the workflow's rules name
their own files; these only give the package's functions somewhere to write)."""

from __future__ import annotations

from pathlib import Path

from brainmets.sequences import SEQUENCES


def cohort_paths(cohort_dir, pid: str) -> dict[str, Path]:
    """An ingested patient's files, as the workflow's ingest rules name them."""
    base = Path(cohort_dir) / f"sub-{pid}"
    paths = {seq: base / "anat" / f"sub-{pid}_{seq}.nii.gz" for seq in SEQUENCES}
    paths.update(
        lesions=base / "anat" / f"sub-{pid}_lesions.nii.gz",
        lesion_table=base / f"sub-{pid}_lesions.tsv",
        patient=base / f"sub-{pid}_patient.json",
    )
    return paths


def ingest_into(record, cohort_dir, **options) -> dict:
    """``ingest_patient`` writing into ``cohort_dir`` laid out as above."""
    from brainmets.cohort.ingest import ingest_patient

    return ingest_patient(record, cohort_paths(cohort_dir, record.patient_id), **options)


def record_paths(records_dir, pid: str) -> dict[str, Path]:
    """One patient's slice records, as the workflow's rule tfrecords names them."""
    d = Path(records_dir)
    return {"shard": d / f"sub-{pid}_slices.tfrecord.gz", "index": d / f"sub-{pid}_slices.json"}
