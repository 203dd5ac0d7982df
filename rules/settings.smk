# The validated configuration and the run's folder, which every rule file
# uses, and the phantom's parameters (rules/phantom.smk is included before
# rules/common.smk: the cohort's records name its files).
from snakemake.utils import validate

from brainmets.workflow import phantom_patient_plan

validate(config, schema="../schemas/config.schema.yaml")

RUN = f"results/{config['run_name']}"


def phantom_patient(wildcards):
    """Index and planned lesion-count subgroup of one synthetic patient."""
    return phantom_patient_plan(config, wildcards.pid)


def phantom_memory(wildcards, attempt):
    """Memory of a phantom patient's job, more on each retry."""
    return 4000 * attempt
