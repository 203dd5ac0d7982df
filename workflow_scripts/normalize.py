"""All sequences onto the network's grid, masked and normalised (rule normalize)."""

import sys

# Jobs in their own conda environment import the package from the source tree.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821

from brainmets.sequences import SEQUENCES
from brainmets.snakemake_io import logged
from brainmets.preprocessing.pipeline import normalization_step

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    paths = {**dict(snakemake.input.items()), **dict(snakemake.output.items())}
    cohort_images = {seq: snakemake.input[seq] for seq in SEQUENCES}
    normalization_step(
        snakemake.wildcards.pid,
        cohort_images,
        snakemake.input.patient,
        paths,
        snakemake.params.inplane_size,
        snakemake.params.method,
        snakemake.params.mask_margin_mm,
    )
