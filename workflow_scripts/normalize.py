"""All sequences onto the network's grid, masked and normalised (rule normalize)."""

from brainmets.preprocessing.pipeline import normalization_step
from brainmets.preprocessing.settings import PreprocessingSettings
from brainmets.snakemake_io import logged, phantom_truth

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    ins, out = snakemake.input, snakemake.output
    paths = {
        "bet_mask": ins.bet_mask,
        **{f"xfm_{seq}": xfm for seq, xfm in zip(snakemake.params.moving, ins.xfm)},
        "brain_mask": out.brain_mask,
        "normalize_report": out.normalize_report,
        **{f"preproc_{seq}": out[seq] for seq in snakemake.params.sequences},
    }
    normalization_step(
        snakemake.wildcards.pid,
        {seq: ins[seq] for seq in snakemake.params.sequences},
        paths,
        PreprocessingSettings.from_config(snakemake.params.preprocessing),
        snakemake.params.reference,
        snakemake.params.bet_on,
        phantom_truth(ins),
    )
