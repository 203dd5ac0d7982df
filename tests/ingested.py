"""Ingests a cohort row into a test's folder, named as the workflow names it."""

from __future__ import annotations

from brainmets.layout import ingested_files


def ingest_into(record, cohort_dir, **options) -> dict:
    """``ingest_patient`` writing into ``cohort_dir`` laid out as the rules
    lay out ``cohort/`` (``layout.ingested_files``)."""
    from brainmets.cohort.ingest import ingest_patient

    return ingest_patient(record, ingested_files(cohort_dir, record.patient_id), **options)
