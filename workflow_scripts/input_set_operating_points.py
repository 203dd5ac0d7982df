"""Operating points of a sequence-dropout model for each input set, on its
development patients (rule input_set_operating_points)."""

import json
from brainmets.evaluation.input_set_points import dev_input_set_points
from brainmets.evaluation.metrics import EvaluationSettings
from brainmets.network.train import load_trained
from brainmets.niio import atomic_write_text
from brainmets.network.devices import inference_job
from brainmets.snakemake_io import logged, patients_on_every_grid

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    ins, params = snakemake.input, snakemake.params
    inference = inference_job(snakemake)
    model, card = load_trained(ins.model, ins.card)
    # The sets without the reference, on the next reference's grid (where the workflow has one).
    patients, on_grid = patients_on_every_grid(ins, params)
    settings = EvaluationSettings(**params.settings)
    points = dev_input_set_points(
        model, card, patients, params.operating_point, params.froc_max_fp, settings, inference.batch_size, inference.window_margin, on_grid
    )
    atomic_write_text(snakemake.output[0], json.dumps(points, indent=2))
    for label, point in points.items():
        log.info("model %s, %s: operating threshold %.4f (%s)", snakemake.wildcards.model, label, point["operating_threshold"], point["method"])
