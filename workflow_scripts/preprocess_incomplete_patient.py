"""A test patient lacking some inputs, preprocessed on its own reference
(rule preprocess_incomplete_patient)."""

from brainmets.preprocessing.own_reference import preprocess_on_own_reference
from brainmets.sequences import SEQUENCES
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    ins, out, params = snakemake.input, snakemake.output, snakemake.params
    images = {seq: ins[seq] for seq in SEQUENCES if seq in ins.keys()}
    outputs = {key: out[key] for key in ("brain_mask", "lesions", "reference_image", "report")}
    report = preprocess_on_own_reference(snakemake.wildcards.pid, images, ins.lesions, params.preprocessing, out.work, outputs, params.preprocessed)
    log.info("patient %s: on its %s grid, %d lesion voxels", report["patient_id"], report["reference"], report["lesion_voxels"])
