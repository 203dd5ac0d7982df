"""Ground-truth lesion mask onto the network's grid (rule resample_lesions)."""

from brainmets.preprocessing.pipeline import lesion_resampling_step
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    voxels = lesion_resampling_step(snakemake.input.lesions, snakemake.input.brain_mask, snakemake.output.lesions)
    log.info("patient %s: %d lesion voxels on the network grid", snakemake.wildcards.pid, voxels)
