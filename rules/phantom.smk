rule phantom_patient:
    output:
        **phantom_outputs(),
    params:
        patient=phantom_params,
    log:
        f"{RUN}/logs/phantom/sub-{{pid}}.log",
    benchmark:
        f"{RUN}/benchmarks/phantom/sub-{{pid}}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    conda:
        "../envs/core.yaml"
    script:
        "../workflow_scripts/phantom_patient.py"
