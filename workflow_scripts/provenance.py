"""Record what produced this run (rule provenance)."""

import sys

# Jobs in their own conda environment import the package from the source tree.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821

import json
from pathlib import Path

from brainmets.niio import atomic_write_text
from brainmets.phantom.generate import patient_seed_sequence
from brainmets.provenance import build_provenance
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    config = snakemake.config
    seeds = {"master": config["seed"]}
    if config["cohort"]["source"] == "phantom":
        seeds["phantom_patients"] = {
            pid: patient_seed_sequence(config["seed"], i).entropy for i, pid in enumerate(snakemake.params.patients)
        }
        seeds["phantom_note"] = "each patient draws from numpy SeedSequence([master, patient index])"
    repo = Path(snakemake.scriptdir).parent
    record = build_provenance(config, repo, seeds, list(snakemake.params.patients))
    atomic_write_text(snakemake.output[0], json.dumps(record, indent=2, default=str))
    log.info("provenance written for %d patients", len(snakemake.params.patients))
