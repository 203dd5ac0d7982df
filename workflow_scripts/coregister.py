"""Rigid registration of every other sequence onto the reference, and the
patient's verdict on it (rule coregister; rule registration_gate acts on it)."""

import sys

# Jobs in their own conda environment import the package from the source tree.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821

from brainmets.preprocessing.pipeline import coregistration_step
from brainmets.preprocessing.registration_gate import user_files, verdict, write_verdict
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    out, pid = snakemake.output, snakemake.wildcards.pid
    reports, moving = {}, {}
    for i, seq in enumerate(snakemake.params.sequences):
        paths = {f"xfm_{seq}": out.xfm[i], f"xfm_report_{seq}": out.xfm_report[i], f"coreg_qc_{seq}": out.coreg_qc[i]}
        moving[seq] = snakemake.input.moving[i]
        # Not enforced here: a failed patient keeps its outputs, for the QC table.
        reports[seq] = coregistration_step(
            pid, seq, snakemake.input.reference, moving[seq], snakemake.input.patient, paths, snakemake.params.settings, snakemake.params.reference, enforce=False
        )
    record = verdict(pid, snakemake.params.reference, reports, user_files(snakemake.input.patient, moving))
    write_verdict(out.verdict, record)
    log.info("patient %s: registration %s", pid, record["registration"])
