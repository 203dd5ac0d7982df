"""A patient's registration verdict, failed included (checkpoint registration_verdict)."""

from brainmets.preprocessing.registration_gate import verdict_step
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    record = verdict_step(snakemake.wildcards.pid, snakemake.params.reference, snakemake.input.reports, snakemake.output[0])
    log.info("patient %s: registration %s", record["patient_id"], record["registration"])
