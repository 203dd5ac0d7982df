"""Operating points of a sequence-dropout model for each input set, on its
development patients (rule input_set_operating_points)."""

import json
from brainmets.evaluation.input_set_points import dev_input_set_points
from brainmets.evaluation.metrics import EvaluationSettings
from brainmets.network.devices import configure_gpus, limit_cpu_threads
from brainmets.network.train import load_trained
from brainmets.niio import atomic_write_text
from brainmets.snakemake_io import logged, network_patients

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    ins, params = snakemake.input, snakemake.params
    configure_gpus(params.gpus, params.allow_cpu_fallback, "inference")
    limit_cpu_threads(snakemake.threads)
    model, card = load_trained(ins.model, ins.card)
    patients = network_patients(ins, params.patients, params.sequences, labelled=True)
    # The sets without the reference, on the next reference's grid (where the workflow has one).
    on_grid = {params.alternative_reference: network_patients(ins, params.patients, params.alternative_sequences, True, "alt_")} if params.alternative_reference else {}
    settings = EvaluationSettings(**params.settings)
    points = dev_input_set_points(
        model, card, patients, params.operating_point, params.froc_max_fp, settings, params.batch_size, params.window_margin, on_grid
    )
    atomic_write_text(snakemake.output[0], json.dumps(points, indent=2))
    for label, point in points.items():
        log.info("model %s, %s: operating threshold %.4f (%s)", snakemake.wildcards.model, label, point["operating_threshold"], point["method"])
