"""Table 1: the cohort (rule table1)."""

from brainmets.cohort.table1 import build_table1, to_markdown
from brainmets.niio import atomic_write_text
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    table = build_table1(snakemake.input.patients, snakemake.input.lesions)
    atomic_write_text(snakemake.output.csv, table.to_csv(index=False))
    atomic_write_text(snakemake.output.md, to_markdown(table, f"Table 1: cohort of run {snakemake.params.run_name}"))
    log.info("Table 1 written: %d rows", len(table))
