"""One patient preprocessed as if it had no BRAVO: every other sequence onto
the next reference (rule alternative_reference_preprocessing), for the
sequence ablation's input sets without the BRAVO."""

from brainmets.layout import CoregistrationFiles, NormalizationFiles
from brainmets.preprocessing.pipeline import coregistration_step, lesion_resampling_step, normalization_step
from brainmets.preprocessing.settings import PreprocessingSettings
from brainmets.sequences import PatientGrid
from brainmets.snakemake_io import logged, phantom_truth

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    ins, out, params = snakemake.input, snakemake.output, snakemake.params
    pid = snakemake.wildcards.pid
    settings = PreprocessingSettings.from_config(params.preprocessing)
    truth = phantom_truth(ins)
    for i, seq in enumerate(params.moving):
        # An implausible registration fails this job (and only it).
        coregistration_step(
            pid, seq, ins[params.reference], ins[seq], CoregistrationFiles(out.xfm[i], out.xfm_report[i], out.coreg_qc[i]),
            settings.registration, params.reference, preprocessed=params.preprocessed, truth=truth, source=params.sources[seq],
        )
    normalization_step(
        pid,
        {seq: ins[seq] for seq in params.sequences},
        ins.bet_mask,
        dict(zip(params.moving, out.xfm)),
        NormalizationFiles(images={seq: out[seq] for seq in params.sequences}, brain_mask=out.brain_mask, report=out.normalize_report),
        settings,
        PatientGrid(params.reference, params.bet_on),
        truth,
    )
    # The labels lie in the workflow reference's world: carried through this reference's registration onto it.
    voxels = lesion_resampling_step(ins.lesions, out.brain_mask, out.lesions, ins.labels_xfm)
    log.info("patient %s: preprocessed on the %s grid, %d lesion voxels", pid, params.reference, voxels)
