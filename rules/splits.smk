checkpoint splits:
    input:
        per_patient(rules.ingest_labelled_patient.output.patient, EVERY_PATIENT),
    output:
        f"{RUN}/records/splits.json",
    log:
        f"{RUN}/logs/records/splits.log",
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        settings=config["split"],
        seed=config["seed"],
        # Patients lacking an input: test patients only.
        test_only=sorted(INCOMPLETE),
    script:
        "../workflow_scripts/splits.py"
