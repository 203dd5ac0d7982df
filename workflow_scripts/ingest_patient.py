"""Validate one patient's inputs and write its internal form (rules ingest_*_patient)."""

import sys

# Jobs in their own conda environment import the package from the source tree.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821

from pathlib import Path

from brainmets.cohort.ingest import ingest_patient
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    # The cohort row was resolved when the job graph was built.
    record = snakemake.params.record
    cohort_dir = Path(snakemake.output.patient).parents[1]
    params = snakemake.params
    patient = ingest_patient(record, cohort_dir, params.connectivity, params.sequences, params.reference)
    log.info("patient %s: ingested, %s lesions", patient["patient_id"], patient["n_lesions"])
