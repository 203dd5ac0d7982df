"""A test patient lacking some inputs, predicted on its own grid at its input
set's operating point (rule infer_incomplete_patient)."""

from brainmets.incomplete import infer_incomplete_patient
from brainmets.predictor import Predictor
from brainmets.network.devices import inference_job
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    ins, out = snakemake.input, snakemake.output
    inference = inference_job(snakemake)
    name = f"model {snakemake.wildcards.model}"
    predictor = Predictor(ins.model, ins.card, ins.threshold, None, inference.batch_size, inference.window_margin, name)
    outputs = {"probability": out.probability, "report": out.report}
    report = infer_incomplete_patient(snakemake.wildcards.pid, ins.preprocessed, ins.brain_mask, predictor, outputs)
    log.info("patient %s, %s: max probability %.3f", report["patient_id"], report["input_set"], report["max_probability"])
