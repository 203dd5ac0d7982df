rule brain_extraction:
    input:
        image=rules.ingest_labelled_patient.output[BET_ON],
    output:
        bet_mask=PATIENT_FILES.brain_extraction.mask,
        bet_report=PATIENT_FILES.brain_extraction.report,
        bet_qc=report(
            PATIENT_FILES.brain_extraction.qc,
            caption="../report/qc_brain_mask.rst",
            category="Quality control",
            subcategory="sub-{pid}",
        ),
    log:
        f"{RUN}/logs/preproc/sub-{{pid}}_brain_extraction.log",
    benchmark:
        f"{RUN}/benchmarks/preproc/sub-{{pid}}_brain_extraction.tsv"
    conda:
        "../envs/preprocessing.yaml"
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        settings=config["preprocessing"]["brain_extraction"],
        preprocessed=patient_preprocessed,
    script:
        "../workflow_scripts/brain_extraction.py"


# Every other sequence onto the reference, one job per patient (ANTs is imported
# once). A failed registration still writes its outputs and report.
rule coregister:
    input:
        unpack(phantom_truth("transforms", "brain_mask")),
        reference=rules.ingest_labelled_patient.output[REF],
        moving=[rules.ingest_labelled_patient.output[seq] for seq in MOVING],
    output:
        xfm=[PATIENT_FILES.coregistration[seq].transform for seq in MOVING],
        xfm_report=[PATIENT_FILES.coregistration[seq].report for seq in MOVING],
        coreg_qc=report(
            [PATIENT_FILES.coregistration[seq].qc for seq in MOVING],
            caption="../report/qc_coregistration.rst",
            category="Quality control",
            subcategory="sub-{pid}",
        ),
    log:
        f"{RUN}/logs/preproc/sub-{{pid}}_coregister.log",
    benchmark:
        f"{RUN}/benchmarks/preproc/sub-{{pid}}_coregister.tsv"
    conda:
        "../envs/preprocessing.yaml"
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        sequences=MOVING,
        reference=REF,
        settings=config["preprocessing"]["registration"],
        preprocessed=patient_preprocessed,
        sources=source_files,
    script:
        "../workflow_scripts/coregister.py"


# The patient's verdict, failed included, for the QC table, whose inputs
# depend on it (a checkpoint, run where Snakemake runs: a few lines of JSON).
checkpoint registration_verdict:
    input:
        reports=rules.coregister.output.xfm_report,
    output:
        PATIENT_FILES.registration.verdict,
    log:
        f"{RUN}/logs/preproc/sub-{{pid}}_registration_verdict.log",
    localrule: True
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        reference=REF,
    script:
        "../workflow_scripts/registration_verdict.py"


# A failed verdict stops the patient here: with --keep-going every step that
# does not need this patient goes on.
rule registration_gate:
    input:
        verdict=rules.registration_verdict.output[0],
    output:
        PATIENT_FILES.registration.accepted,
    log:
        f"{RUN}/logs/preproc/sub-{{pid}}_registration_gate.log",
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../workflow_scripts/registration_gate.py"


rule normalize:
    input:
        unpack(phantom_truth("brain_mask")),
        **{seq: rules.ingest_labelled_patient.output[seq] for seq in USED},
        bet_mask=rules.brain_extraction.output.bet_mask,
        xfm=rules.coregister.output.xfm,
        registration=rules.registration_gate.output[0],
    output:
        **{seq: PATIENT_FILES.normalization.images[seq] for seq in USED},
        brain_mask=PATIENT_FILES.normalization.brain_mask,
        normalize_report=PATIENT_FILES.normalization.report,
    log:
        f"{RUN}/logs/preproc/sub-{{pid}}_normalize.log",
    benchmark:
        f"{RUN}/benchmarks/preproc/sub-{{pid}}_normalize.tsv"
    conda:
        "../envs/preprocessing.yaml"
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        **normalization_params(USED, MOVING, REF),
    script:
        "../workflow_scripts/normalize.py"


rule resample_lesions:
    input:
        lesions=rules.ingest_labelled_patient.output.lesions,
        brain_mask=rules.normalize.output.brain_mask,
    output:
        lesions=PATIENT_FILES.lesions,
    log:
        f"{RUN}/logs/preproc/sub-{{pid}}_resample_lesions.log",
    wildcard_constraints:
        pid=id_pattern(LABELLED),
    conda:
        "../envs/preprocessing.yaml"
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../workflow_scripts/resample_lesions.py"


# A labelled patient preprocessed as if it had no reference (BRAVO): every
# other sequence onto the next reference (T1gd), the brain mask and lesions
# on its grid. For the sequence ablation's sets without the reference.
if ALT_REF:

    rule alternative_reference_preprocessing:
        input:
            unpack(phantom_truth("transforms", "brain_mask")),
            **{seq: rules.ingest_labelled_patient.output[seq] for seq in ALT_USED},
            lesions=rules.ingest_labelled_patient.output.lesions,
            # This reference's registration onto the one the labels lie on.
            labels_xfm=rules.coregister.output.xfm[MOVING.index(ALT_REF)],
            bet_mask=rules.brain_extraction.output.bet_mask,
            # Only patients the registration gate let through.
            registration=rules.registration_gate.output[0],
        output:
            **{seq: ALT_PATIENT_FILES.normalization.images[seq] for seq in ALT_USED},
            brain_mask=ALT_PATIENT_FILES.normalization.brain_mask,
            lesions=ALT_PATIENT_FILES.lesions,
            normalize_report=ALT_PATIENT_FILES.normalization.report,
            xfm=[ALT_PATIENT_FILES.coregistration[seq].transform for seq in ALT_MOVING],
            xfm_report=[
                ALT_PATIENT_FILES.coregistration[seq].report for seq in ALT_MOVING
            ],
            coreg_qc=[ALT_PATIENT_FILES.coregistration[seq].qc for seq in ALT_MOVING],
        log:
            f"{RUN}/logs/preproc/sub-{{pid}}_alternative_reference.log",
        benchmark:
            f"{RUN}/benchmarks/preproc/sub-{{pid}}_alternative_reference.tsv"
        wildcard_constraints:
            pid=id_pattern(LABELLED),
        conda:
            "../envs/preprocessing.yaml"
        resources:
            mem_mb=4000,
            runtime=30,
        params:
            # The brain mask is rule brain_extraction's (ALT_REF is None
            # when it was drawn on the reference).
            **normalization_params(ALT_USED, ALT_MOVING, ALT_REF),
            preprocessed=patient_preprocessed,
            sources=source_files,
        script:
            "../workflow_scripts/preprocess_alternative_reference.py"


# A test patient lacking some inputs (cohort.incomplete_patients: test),
# preprocessed on its own reference (patient_grid: its T1gd without a BRAVO);
# its lesions lie on that reference.
rule preprocess_incomplete_patient:
    input:
        unpack(incomplete_images),
        lesions=rules.ingest_labelled_patient.output.lesions,
    output:
        work=directory(f"{RUN}/incomplete/preproc/sub-{{pid}}"),
        brain_mask=f"{RUN}/incomplete/preproc/sub-{{pid}}_desc-brain_mask.nii.gz",
        lesions=f"{RUN}/incomplete/preproc/sub-{{pid}}_desc-lesions_mask.nii.gz",
        reference_image=f"{RUN}/incomplete/preproc/sub-{{pid}}_desc-reference_image.nii.gz",
        report=f"{RUN}/incomplete/preproc/sub-{{pid}}_desc-preprocessing.json",
    log:
        f"{RUN}/logs/preproc/incomplete_sub-{{pid}}.log",
    benchmark:
        f"{RUN}/benchmarks/preproc/incomplete_sub-{{pid}}.tsv"
    wildcard_constraints:
        pid=id_pattern(INCOMPLETE),
    conda:
        "../envs/preprocessing.yaml"
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        preprocessing=config["preprocessing"],
        preprocessed=patient_preprocessed,
    script:
        "../workflow_scripts/preprocess_incomplete_patient.py"


# Every patient, a failed one too (from its registration verdict), and those
# tested without a sequence.
rule preprocessing_qc_table:
    input:
        unpack(qc_table_later_inputs),
        bet=per_patient(rules.brain_extraction.output.bet_report),
        verdicts=per_patient(rules.registration_verdict.output[0]),
        xfm=per_patient(rules.coregister.output.xfm_report),
        own_reference=per_patient(
            rules.preprocess_incomplete_patient.output.report, list(INCOMPLETE)
        ),
    output:
        report(
            f"{RUN}/qc/preprocessing.tsv",
            caption="../report/qc_table.rst",
            category="Quality control",
        ),
    log:
        f"{RUN}/logs/qc/preprocessing_table.log",
    conda:
        "../envs/preprocessing.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        labelled=LABELLED,
    script:
        "../workflow_scripts/preprocessing_qc_table.py"
