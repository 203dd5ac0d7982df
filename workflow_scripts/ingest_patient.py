"""Validate one patient's inputs and write its internal form (rules ingest_*_patient)."""

from brainmets.cohort.ingest import ingest_patient
from brainmets.lesions import LesionInstances
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    # The cohort row was resolved when the job graph was built.
    record = snakemake.params.record
    params = snakemake.params
    files = dict(snakemake.output.items())
    patient = ingest_patient(record, files, LesionInstances(**params.lesion_instances), params.sequences, params.reference)
    log.info("patient %s: ingested, %s lesions", patient["patient_id"], patient["n_lesions"])
