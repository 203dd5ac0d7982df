rule ingest_labelled_patient:
    input:
        ingest_inputs,
    output:
        **cohort_outputs(labelled=True),
    log:
        f"{RUN}/logs/cohort/sub-{{pid}}.log",
    wildcard_constraints:
        pid=id_pattern(LABELLED),
    group:
        "preprocessing"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    script:
        "../workflow_scripts/ingest_patient.py"


rule ingest_unlabelled_patient:
    input:
        ingest_inputs,
    output:
        **cohort_outputs(labelled=False),
    log:
        f"{RUN}/logs/cohort/sub-{{pid}}.log",
    wildcard_constraints:
        pid=id_pattern(UNLABELLED),
    group:
        "preprocessing"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    script:
        "../workflow_scripts/ingest_patient.py"


rule table1:
    input:
        patients=cohort_files("patient"),
        lesions=cohort_files("lesion_table"),
    output:
        **table1_outputs(),
    log:
        f"{RUN}/logs/tables/table1.log",
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow_scripts/table1.py"
