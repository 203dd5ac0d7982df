rule ingest_labelled_patient:
    input:
        ingest_inputs,
    output:
        **ingested_files(f"{RUN}/cohort", "{pid}", USED),
    log:
        INGEST_LOG,
    wildcard_constraints:
        pid=id_pattern(LABELLED),
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        **ingest_params(USED),
    script:
        "../workflow_scripts/ingest_patient.py"


use rule ingest_labelled_patient as ingest_unlabelled_patient with:
    output:
        **ingested_files(f"{RUN}/cohort", "{pid}", USED, labelled=False),
    wildcard_constraints:
        pid=id_pattern(UNLABELLED),


# A patient lacking some of the inputs (cohort.incomplete_patients: test):
# one rule for each gap (Snakemake's procedural rules: a rule's outputs are
# fixed), writing the sequences such patients have; the lesions lie on
# their own reference's grid (their T1gd without a BRAVO).
for gap in sorted(set(INCOMPLETE.values())):
    have = [seq for seq in USED if seq not in gap]

    rule:
        name:
            f"ingest_patient_without_{'_'.join(gap)}"
        input:
            ingest_inputs,
        output:
            **ingested_files(f"{RUN}/cohort", "{pid}", have),
        log:
            INGEST_LOG,
        wildcard_constraints:
            pid=id_pattern([pid for pid, g in INCOMPLETE.items() if g == gap]),
        conda:
            "../envs/core.yaml"
        resources:
            mem_mb=4000,
            runtime=10,
        params:
            **ingest_params(have),
        script:
            "../workflow_scripts/ingest_patient.py"


rule table1:
    input:
        patients=per_patient(
            rules.ingest_labelled_patient.output.patient, EVERY_PATIENT
        ),
        lesions=per_patient(
            rules.ingest_labelled_patient.output.lesion_table, EVERY_PATIENT
        ),
    output:
        csv=f"{RUN}/tables/table1.csv",
        md=f"{RUN}/tables/table1.md",
    log:
        f"{RUN}/logs/tables/table1.log",
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        run_name=config["run_name"],
    script:
        "../workflow_scripts/table1.py"
