"""Validate one patient's inputs and write its internal form (rules ingest_*_patient)."""

import sys

# Jobs in their own conda environment import the package from the source tree.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821

from pathlib import Path

from brainmets.cohort.ingest import ingest_patient
from brainmets.snakemake_io import logged
from brainmets.workflow import cohort_records

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    run_dir = Path(snakemake.output.patient).parents[2]
    record = cohort_records(snakemake.config, run_dir)[snakemake.wildcards.pid]
    patient = ingest_patient(record, run_dir / "cohort", snakemake.config["cohort"]["lesion_connectivity"])
    log.info("patient %s: ingested, %s lesions", patient["patient_id"], patient["n_lesions"])
