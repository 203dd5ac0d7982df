"""Probability maps of a model's development and test patients (rule infer):
one job per model, so TensorFlow starts and the model loads once."""

from brainmets.network.inference import predict_patients
from brainmets.network.train import load_trained
from brainmets.network.devices import inference_job
from brainmets.snakemake_io import logged, network_patients

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    params = snakemake.params
    inference = inference_job(snakemake)
    model, card = load_trained(snakemake.input.model, snakemake.input.card)
    ins = snakemake.input
    patients = network_patients(ins, params.patients, params.sequences)
    log.info("model %s: %d patients, window margin %s", snakemake.wildcards.model, len(patients), inference.window_margin)
    # params.probability and params.report follow params.patients' order.
    outputs = {pid: {"probability": m, "report": r} for pid, m, r in zip(params.patients, params.probability, params.report, strict=True)}
    predict_patients(model, card, patients, outputs, inference.batch_size, inference.window_margin)
