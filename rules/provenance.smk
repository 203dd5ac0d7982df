rule provenance:
    input:
        rules.table1.output,
    output:
        report(
            f"{RUN}/provenance.json",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    log:
        f"{RUN}/logs/provenance.log",
    conda:
        "../envs/core.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        patients=EVERY_PATIENT,
    script:
        "../workflow_scripts/provenance.py"
