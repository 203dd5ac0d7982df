"""Tables 3A-C, 4A-C, the paper comparison, lesion-wise and bootstrap tables (rule make_tables)."""

import json

import pandas as pd

from brainmets.evaluation import tables
from brainmets.niio import atomic_write_text
from brainmets.settings_summary import COHORTS
from brainmets.snakemake_io import logged

def write(name, frame, md):
    atomic_write_text(snakemake.output[f"{name}_csv"], frame.to_csv(index=False))
    atomic_write_text(snakemake.output[f"{name}_md"], md)


with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    per_patient = pd.read_csv(snakemake.input.per_patient, sep="\t", dtype={"patient_id": str})
    min_fp = snakemake.params.min_fp_volume_mm3
    for which in ("3A", "3B", "3C"):
        frame = tables.table3(per_patient, which, min_fp)
        write(f"table{which.lower()}", frame, tables.table3_markdown(frame, which, min_fp))
    for which in ("4A", "4B", "4C"):
        frame = tables.table4(per_patient, which, min_fp)
        write(f"table{which.lower()}", frame, tables.table4_markdown(frame, which))
    frame = tables.brats_table(per_patient)
    write("lesionwise", frame, tables.markdown(frame, title="Lesion-wise Dice and HD95 (beyond the paper)", note=tables.BRATS_NOTE))
    frame = tables.bootstrap(per_patient, snakemake.params.seed, snakemake.params.resamples)
    write("bootstrap", frame, tables.markdown(frame, title="Bootstrap 95% confidence intervals of the mean over patients"))
    source = snakemake.params.cohort
    thresholds = {m: json.loads(open(f).read()) for m, f in zip(snakemake.params.models, snakemake.input.thresholds)}
    points, curves = tables.operating_points(thresholds)
    write("operating_points", points, tables.markdown(points, title="Operating points on the development patients", note=tables.OPERATING_POINTS_NOTE))
    write("dev_froc", curves, tables.markdown(curves, title="Development patients: mean Dice, lesion sensitivity and false positives per patient by threshold (FROC)"))
    comparison = tables.paper_comparison(
        per_patient,
        COHORTS[source],
        synthetic=source == "phantom",
        seed=snakemake.params.seed,
        resamples=snakemake.params.resamples,
        run=snakemake.params.run_settings,
        min_fp_volume_mm3=min_fp,
    )
    atomic_write_text(snakemake.output.paper_comparison, comparison)
    log.info("tables of %d test patients written", len(per_patient))
