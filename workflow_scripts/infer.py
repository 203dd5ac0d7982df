"""Probability map of one patient from one trained model (rule infer)."""

import sys

# Jobs in their own conda environment import the package from the source tree.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821

import json
from pathlib import Path

from brainmets.network.devices import configure_gpus, limit_cpu_threads
from brainmets.network.inference import predict_patient
from brainmets.network.train import load_trained
from brainmets.niio import atomic_write_text
from brainmets.sequences import SEQUENCES
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    configure_gpus(snakemake.params.gpus, snakemake.params.allow_cpu_fallback, "inference")
    limit_cpu_threads(snakemake.threads)
    pid, name = snakemake.wildcards.pid, snakemake.wildcards.model
    model, card = load_trained(Path(snakemake.input.model).parent)
    report = predict_patient(
        model,
        card,
        {seq: snakemake.input[seq] for seq in SEQUENCES},
        snakemake.input.brain_mask,
        snakemake.output.probability,
        snakemake.params.batch_size,
    )
    report = {"patient_id": pid, "model": name, **report}
    log.info("patient %s, model %s: %.1f s, max probability %.3f", pid, name, report["seconds"], report["max_probability"])
    atomic_write_text(snakemake.output.report, json.dumps(report, indent=2))
