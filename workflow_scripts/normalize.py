"""All sequences onto the network's grid, masked and normalised (rule normalize)."""

from brainmets.layout import NormalizationFiles
from brainmets.preprocessing.pipeline import normalization_step
from brainmets.preprocessing.settings import PreprocessingSettings
from brainmets.sequences import PatientGrid
from brainmets.snakemake_io import logged, phantom_truth

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    ins, out, params = snakemake.input, snakemake.output, snakemake.params
    normalization_step(
        snakemake.wildcards.pid,
        {seq: ins[seq] for seq in params.sequences},
        ins.bet_mask,
        dict(zip(params.moving, ins.xfm)),
        NormalizationFiles(images={seq: out[seq] for seq in params.sequences}, brain_mask=out.brain_mask, report=out.normalize_report),
        PreprocessingSettings.from_config(params.preprocessing),
        PatientGrid(params.reference, params.bet_on),
        phantom_truth(ins),
    )
