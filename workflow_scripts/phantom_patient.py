"""Simulate one synthetic patient (rule phantom_patient)."""

from brainmets.phantom.generate import PhantomConfig, generate_patient
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    patient = snakemake.params.patient
    meta = generate_patient(
        PhantomConfig.from_dict(snakemake.params.phantom),
        seed=snakemake.params.seed,
        patient_index=patient["index"],
        pid=snakemake.wildcards.pid,
        subgroup=patient["subgroup"],
        files=dict(snakemake.output.items()),
    )
    log.info("patient %s: %d lesions", meta["patient_id"], meta["n_lesions"])
