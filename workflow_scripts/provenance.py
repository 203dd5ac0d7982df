"""Record what produced this run (rule provenance)."""

import json
from pathlib import Path

from brainmets.niio import atomic_write_text
from brainmets.provenance import build_provenance, run_seeds
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    config, patients = snakemake.config, list(snakemake.params.patients)
    repo = Path(snakemake.scriptdir).parent
    record = build_provenance(config, repo, run_seeds(config, patients), patients)
    atomic_write_text(snakemake.output[0], json.dumps(record, indent=2, default=str))
    log.info("provenance written for %d patients", len(patients))
