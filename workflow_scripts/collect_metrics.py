"""All test patients' metrics as three tables (rule collect_metrics)."""

from brainmets.evaluation.patient import collect
from brainmets.niio import atomic_write_text
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    frames = collect(snakemake.input)
    for key, frame in frames.items():
        atomic_write_text(snakemake.output[key], frame.to_csv(sep="\t", index=False))
    log.info("metrics of %d patients, %d lesion rows", len(frames["per_patient"]), len(frames["lesions"]))
