"""Metrics of one test patient (rule evaluate_patient)."""

from brainmets.evaluation.patient import evaluate_patient_files
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    pid, model = snakemake.wildcards.pid, snakemake.wildcards.model
    files = {**dict(snakemake.input.items()), "probability": snakemake.params.probability}
    r = evaluate_patient_files(pid, model, files, snakemake.params.settings, snakemake.output[0], snakemake.params.missing)
    log.info(
        "patient %s (%s, %s): AUC %.4f, Dice %.3f at %.3f, %d/%d lesions detected, %d false positives (%.1f s)",
        pid, r["subgroup"], r["input_set"], r["auc"], r["dice"], r["operating_threshold"], r["detected_lesions"], r["lesions"], r["fp_components"], r["seconds"],
    )
