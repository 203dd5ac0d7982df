"""The sequence-ablation table beside the 2021 paper (rule ablation)."""

import pandas as pd

from brainmets.evaluation.ablation_table import PAPER_2021, ablation_markdown, ablation_table
from brainmets.evaluation.figures import ablation_figure
from brainmets.input_sets import INPUT_SETS
from brainmets.niio import atomic_write_text
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    rows = pd.concat([pd.read_csv(f, sep="\t", dtype={"patient_id": str}) for f in snakemake.input])
    table = ablation_table(rows, snakemake.params.seed, snakemake.params.resamples)
    atomic_write_text(snakemake.output.csv, table.to_csv(index=False))
    atomic_write_text(snakemake.output.md, ablation_markdown(table, snakemake.params.min_fp_volume_mm3, snakemake.params.resamples))
    ablation_figure(rows, {"png": snakemake.output.png, "pdf": snakemake.output.pdf}, list(INPUT_SETS), PAPER_2021, snakemake.params.min_fp_volume_mm3)
    log.info("ablation table: %d input sets, %d patients", len(table), rows.patient_id.nunique())
