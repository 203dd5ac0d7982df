"""Write the patient split once (rule splits)."""

import sys

# Jobs in their own conda environment import the package from the source tree.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821

import json

from brainmets.niio import atomic_write_text
from brainmets.snakemake_io import logged
from brainmets.splits import kfold_split, paper_split

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    patients = [json.loads(open(f).read()) for f in snakemake.input]
    subgroups = {p["patient_id"]: p["subgroup"] or "unlabelled" for p in patients}
    settings = snakemake.params.settings
    seed = snakemake.params.seed
    if settings["strategy"] == "paper":
        split = paper_split(subgroups, seed, settings.get("test_per_subgroup"), min_dev=settings["min_dev_patients"])
        log.info("split: %d train, %d dev, %d test", len(split["train"]), len(split["dev"]), len(split["test"]))
    else:
        split = kfold_split(subgroups, seed, settings["k"], min_dev=settings["min_dev_patients"])
        log.info("split: %d folds of %s patients", settings["k"], [len(f) for f in split["folds"]])
    atomic_write_text(snakemake.output[0], json.dumps(split, indent=2))
