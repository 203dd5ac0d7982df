"""A sequence-dropout model's test patients with sequences left out (rule sequence_ablation)."""

import json
from pathlib import Path

from brainmets.evaluation.ablation import ablation_rows, check_ablation_model
from brainmets.input_sets import COMPLETE, thresholds_by_input_set
from brainmets.evaluation.metrics import EvaluationSettings
from brainmets.network.train import load_trained
from brainmets.niio import atomic_write_text
from brainmets.network.devices import inference_job
from brainmets.snakemake_io import logged, patients_on_every_grid

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    ins, params = snakemake.input, snakemake.params
    inference = inference_job(snakemake)
    model, card = load_trained(ins.model, ins.card)
    check_ablation_model(card, snakemake.wildcards.model)
    # The sets without the reference, on the next reference's grid (where the workflow has one).
    patients, on_grid = patients_on_every_grid(ins, params)
    thresholds = thresholds_by_input_set(json.loads(Path(ins.threshold).read_text()))
    settings = EvaluationSettings(threshold=thresholds[COMPLETE], **params.settings)
    rows = ablation_rows(model, card, patients, settings, inference.batch_size, inference.window_margin, thresholds, on_grid)
    rows.insert(1, "model", snakemake.wildcards.model)
    atomic_write_text(snakemake.output[0], rows.to_csv(sep="\t", index=False))
    log.info("model %s: %d patients x %d input sets", snakemake.wildcards.model, len(patients), rows.input_set.nunique())
