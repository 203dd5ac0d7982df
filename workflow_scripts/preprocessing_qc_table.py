"""One row per patient of preprocessing quality (rule preprocessing_qc_table)."""

import sys

# Jobs in their own conda environment import the package from the source tree.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821

from brainmets.niio import atomic_write_text
from brainmets.preprocessing.pipeline import qc_table
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    table = qc_table(snakemake.input.bet, snakemake.input.xfm, snakemake.input.normalize)
    atomic_write_text(snakemake.output[0], table.to_csv(sep="\t", index=False, float_format="%.4f"))
    log.info("preprocessing QC of %d patients", len(table))
