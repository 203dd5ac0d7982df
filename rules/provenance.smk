rule provenance:
    input:
        *table1_outputs().values(),
    output:
        f"{RUN}/provenance.json",
    params:
        patients=PATIENTS,
    log:
        f"{RUN}/logs/provenance.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/core.yaml"
    script:
        "../workflow_scripts/provenance.py"
