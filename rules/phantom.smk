rule phantom_patient:
    output:
        **phantom_outputs(),
    log:
        f"{RUN}/logs/phantom/sub-{{pid}}.log",
    benchmark:
        f"{RUN}/benchmarks/phantom/sub-{{pid}}.tsv"
    group:
        "preprocessing"
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    params:
        patient=phantom_params,
    script:
        "../workflow_scripts/phantom_patient.py"
