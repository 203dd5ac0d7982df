"""Figures 2-6 and the training curves (rule make_figures)."""

from pathlib import Path

import pandas as pd

from brainmets.evaluation.figures import FIGURES, PeakRule, all_figures
from brainmets.snakemake_io import logged


with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    ins = snakemake.input
    read = dict(sep="\t", dtype={"patient_id": str})
    # params.case_patients, params.case_probability, input.case_reference and
    # input.case_lesions follow one order (case_inputs in rules/common.smk).
    cases = {
        pid: {"probability": p, "reference": image, "lesions": les}
        for pid, p, image, les in zip(snakemake.params.case_patients, snakemake.params.case_probability, ins.case_reference, ins.case_lesions)
    }
    histories = {Path(h).parent.name: pd.read_csv(h) for h in ins.history}
    out = snakemake.output
    paths = {name: {ext: out[f"{name}_{ext}"] for ext in ("png", "pdf")} for name in FIGURES}
    params = snakemake.params
    peak = PeakRule(params.min_peak_probability, params.connectivity)
    all_figures(pd.read_csv(ins.per_patient, **read), pd.read_csv(ins.lesions, **read), pd.read_csv(ins.roc, **read), histories, cases, paths, params.size_threshold, params.found_fraction, params.reference, peak)
    log.info("figures written: %s", ", ".join(FIGURES))
