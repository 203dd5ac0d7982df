# Python helpers of the workflow: config validation, the cohort, and the
# paths every rule writes. Rule files hold rules only.
from pathlib import Path

from snakemake.utils import validate

from brainmets.cohort.ingest import cohort_paths
from brainmets.phantom.generate import patient_ids, phantom_paths, plan_subgroups
from brainmets.sequences import SEQUENCES
from brainmets.workflow import cohort_records

validate(config, schema="../schemas/config.schema.yaml")

RUN = f"results/{config['run_name']}"
RECORDS = cohort_records(config, RUN)
PATIENTS = sorted(RECORDS)
LABELLED = [pid for pid in PATIENTS if RECORDS[pid].lesions is not None]
UNLABELLED = [pid for pid in PATIENTS if RECORDS[pid].lesions is None]
NEVER = "(?!x)x"


def id_pattern(ids):
    """A wildcard constraint matching exactly these patient ids."""
    return "|".join(ids) if ids else NEVER


wildcard_constraints:
    pid="[A-Za-z0-9]+",


def phantom_outputs():
    """Files of one synthetic patient, with {pid} as wildcard."""
    paths = phantom_paths(Path(RUN) / "phantom" / "sub-{pid}", "{pid}")
    return {key: str(path) for key, path in paths.items()}


def phantom_params(wildcards):
    pid = wildcards.pid
    subgroups = plan_subgroups(
        config["phantom"]["n_patients"],
        config["phantom"]["subgroup_proportions"],
        config["seed"],
    )
    return {
        "index": patient_ids(config["phantom"]["n_patients"]).index(pid),
        "subgroup": subgroups[pid],
    }


def cohort_outputs(labelled):
    """Internal form of one patient, with {pid} as wildcard."""
    paths = cohort_paths(Path(RUN) / "cohort", "{pid}")
    keys = [*SEQUENCES, "lesion_table", "patient"] + (["lesions"] if labelled else [])
    return {key: str(paths[key]) for key in keys}


def ingest_inputs(wildcards):
    return [str(p) for p in RECORDS[wildcards.pid].input_paths()]


def cohort_files(key, pids=None):
    pids = PATIENTS if pids is None else pids
    return [str(cohort_paths(Path(RUN) / "cohort", pid)[key]) for pid in pids]


def table1_outputs():
    return {
        "csv": f"{RUN}/tables/table1.csv",
        "md": f"{RUN}/tables/table1.md",
    }


def all_outputs():
    return [
        *cohort_files("patient"),
        *table1_outputs().values(),
        f"{RUN}/provenance.json",
    ]
