"""Rigid registration of one sequence onto BRAVO (rule coregister)."""

import sys

# Jobs in their own conda environment import the package from the source tree.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821

from brainmets.preprocessing.pipeline import coregistration_step
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    seq = snakemake.wildcards.seq
    paths = {f"{key}_{seq}": path for key, path in dict(snakemake.output.items()).items()}
    coregistration_step(
        snakemake.wildcards.pid,
        seq,
        snakemake.input.bravo,
        snakemake.input.moving,
        snakemake.input.patient,
        paths,
        snakemake.params.settings,
    )
