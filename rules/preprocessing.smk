rule brain_extraction:
    input:
        unpack(brain_extraction_inputs),
    output:
        **preproc_outputs("bet_mask", "bet_report"),
        bet_qc=report(
            preproc_outputs("bet_qc")["bet_qc"],
            caption="../report/qc_brain_mask.rst",
            category="Quality control",
            subcategory="sub-{pid}",
        ),
    log:
        f"{RUN}/logs/preproc/sub-{{pid}}_brain_extraction.log",
    benchmark:
        f"{RUN}/benchmarks/preproc/sub-{{pid}}_brain_extraction.tsv"
    group:
        "preprocessing"
    conda:
        "../envs/preprocessing.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        settings=config["preprocessing"]["brain_extraction"],
    script:
        "../workflow_scripts/brain_extraction.py"


rule coregister:
    input:
        unpack(coregistration_inputs),
    output:
        **coregistration_outputs(),
    log:
        f"{RUN}/logs/preproc/sub-{{pid}}_coregister_{{seq}}.log",
    benchmark:
        f"{RUN}/benchmarks/preproc/sub-{{pid}}_coregister_{{seq}}.tsv"
    group:
        "preprocessing"
    conda:
        "../envs/preprocessing.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        settings=config["preprocessing"]["registration"],
    script:
        "../workflow_scripts/coregister.py"


rule normalize:
    input:
        unpack(normalization_inputs),
    output:
        **preproc_outputs(
            "brain_mask", "normalize_report", *[f"preproc_{s}" for s in SEQUENCES]
        ),
    log:
        f"{RUN}/logs/preproc/sub-{{pid}}_normalize.log",
    benchmark:
        f"{RUN}/benchmarks/preproc/sub-{{pid}}_normalize.tsv"
    group:
        "preprocessing"
    conda:
        "../envs/preprocessing.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        inplane_size=config["preprocessing"]["inplane_size"],
        method=config["preprocessing"]["normalization"],
        mask_margin_mm=config["preprocessing"]["mask_margin_mm"],
    script:
        "../workflow_scripts/normalize.py"


rule resample_lesions:
    input:
        unpack(lesion_resampling_inputs),
    output:
        **preproc_outputs("lesions"),
    log:
        f"{RUN}/logs/preproc/sub-{{pid}}_resample_lesions.log",
    wildcard_constraints:
        pid=id_pattern(LABELLED),
    group:
        "preprocessing"
    conda:
        "../envs/preprocessing.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../workflow_scripts/resample_lesions.py"


rule preprocessing_qc_table:
    input:
        **preprocessing_qc_inputs(),
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
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        labelled=LABELLED,
    script:
        "../workflow_scripts/preprocessing_qc_table.py"
