"""Stop a patient whose co-registration failed the gate (rule registration_gate)."""

from brainmets.preprocessing.registration_gate import registration_gate_step
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    record = registration_gate_step(snakemake.input.verdict, snakemake.output[0])
    log.info("patient %s: registration %s, preprocessing goes on", record["patient_id"], record["registration"])
