"""The model's operating points from its development patients (rule operating_threshold)."""

import json
from pathlib import Path

from brainmets.evaluation.metrics import EvaluationSettings
from brainmets.evaluation.threshold import operating_threshold
from brainmets.niio import atomic_write_text
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    ins, params = snakemake.input, snakemake.params
    # params.patients, params.probability, input.lesions and input.brain_mask
    # follow one order (the model's development patients, threshold_inputs).
    patients = {
        pid: {"probability": prob, "lesions": les, "brain_mask": mask}
        for pid, prob, les, mask in zip(params.patients, params.probability, ins.lesions, ins.brain_mask)
    }
    settings = EvaluationSettings(**params.settings)
    result = operating_threshold(patients, params.operating_point, params.froc_max_fp, settings)
    if "input_sets" in ins.keys():  # a sequence-dropout model: one per input set too
        result["input_sets"] = json.loads(Path(ins.input_sets[0]).read_text())
    log.info("model %s: operating threshold %.4f (%s)", snakemake.wildcards.model, result["operating_threshold"], result["method"])
    atomic_write_text(snakemake.output[0], json.dumps(result, indent=2))
