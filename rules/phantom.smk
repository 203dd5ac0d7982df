# Included before rules/common.smk: the cohort's records name this rule's files.
from brainmets.workflow import phantom_patient_plan


def phantom_patient(wildcards):
    """Index and planned lesion-count subgroup of one synthetic patient."""
    return phantom_patient_plan(config, wildcards.pid)


def phantom_memory(wildcards, attempt):
    """Memory of a phantom patient's job, more on each retry."""
    return 4000 * attempt


rule phantom_patient:
    output:
        T1pre=f"{RUN}/phantom/sub-{{pid}}/anat/sub-{{pid}}_T1pre.nii.gz",
        T1gd=f"{RUN}/phantom/sub-{{pid}}/anat/sub-{{pid}}_T1gd.nii.gz",
        BRAVO=f"{RUN}/phantom/sub-{{pid}}/anat/sub-{{pid}}_BRAVO.nii.gz",
        FLAIR=f"{RUN}/phantom/sub-{{pid}}/anat/sub-{{pid}}_FLAIR.nii.gz",
        lesions=f"{RUN}/phantom/sub-{{pid}}/anat/sub-{{pid}}_lesions.nii.gz",
        instances=f"{RUN}/phantom/sub-{{pid}}/truth/sub-{{pid}}_desc-lesions_dseg.nii.gz",
        brain_mask=f"{RUN}/phantom/sub-{{pid}}/truth/sub-{{pid}}_desc-brain_mask.nii.gz",
        lesion_table=f"{RUN}/phantom/sub-{{pid}}/truth/sub-{{pid}}_lesions.tsv",
        transforms=f"{RUN}/phantom/sub-{{pid}}/truth/sub-{{pid}}_transforms.json",
        metadata=f"{RUN}/phantom/sub-{{pid}}/sub-{{pid}}_phantom.json",
    log:
        f"{RUN}/logs/phantom/sub-{{pid}}.log",
    benchmark:
        f"{RUN}/benchmarks/phantom/sub-{{pid}}.tsv"
    wildcard_constraints:
        pid="[A-Za-z0-9]+",
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=phantom_memory,
        runtime=30,
    params:
        patient=phantom_patient,
        phantom=config["phantom"],
        seed=config["seed"],
    script:
        "../workflow_scripts/phantom_patient.py"
