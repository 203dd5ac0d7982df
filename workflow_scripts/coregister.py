"""Rigid registration of every other sequence onto the reference (rule
coregister): a failed registration still writes its outputs and report,
for the QC table; rule registration_gate stops the patient."""

from brainmets.layout import CoregistrationFiles
from brainmets.preprocessing.pipeline import coregistration_step
from brainmets.preprocessing.settings import RegistrationSettings
from brainmets.snakemake_io import logged, phantom_truth

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    out = snakemake.output
    settings = RegistrationSettings.from_config(snakemake.params.settings)
    for i, seq in enumerate(snakemake.params.sequences):
        coregistration_step(
            snakemake.wildcards.pid,
            seq,
            snakemake.input.reference,
            snakemake.input.moving[i],
            CoregistrationFiles(transform=out.xfm[i], report=out.xfm_report[i], qc=out.coreg_qc[i]),
            settings,
            snakemake.params.reference,
            enforce=False,
            preprocessed=snakemake.params.preprocessed,
            truth=phantom_truth(snakemake.input),
            source=snakemake.params.sources[seq],
        )
