"""Write the patient split once (rule splits)."""

import json

from brainmets.niio import atomic_write_text
from brainmets.snakemake_io import logged
from brainmets.splits import patient_subgroups, split_from_settings, split_summary

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    subgroups = patient_subgroups([json.loads(open(f).read()) for f in snakemake.input])
    split = split_from_settings(subgroups, snakemake.params.seed, snakemake.params.settings, snakemake.params.test_only)
    log.info("%s", split_summary(split))
    atomic_write_text(snakemake.output[0], json.dumps(split, indent=2))
