rule evaluate_patient:
    input:
        unpack(evaluation_inputs),
    output:
        patient_metrics_file("{model}", "{pid}"),
    log:
        f"{RUN}/logs/metrics/{{model}}_sub-{{pid}}.log",
    benchmark:
        f"{RUN}/benchmarks/metrics/{{model}}_sub-{{pid}}.tsv"
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        settings={
            "size_threshold": config["evaluation"]["size_threshold"],
            "found_fraction": config["evaluation"]["found_fraction"],
            "min_fp_volume_mm3": config["evaluation"]["min_fp_volume_mm3"],
            "brats_dilation": config["evaluation"]["brats_dilation"],
            "connectivity": config["cohort"]["lesion_connectivity"],
        },
    script:
        "../workflow_scripts/evaluate_patient.py"


rule collect_metrics:
    input:
        metrics_inputs,
    output:
        **METRICS,
    log:
        f"{RUN}/logs/metrics/collect.log",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow_scripts/collect_metrics.py"


rule make_tables:
    input:
        **METRICS,
        thresholds=lambda w: [_model_file(m, "threshold") for m in split_models()],
    output:
        **table_outputs(for_report=True),
    log:
        f"{RUN}/logs/tables/tables.log",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cohort=config["cohort"]["source"],
        seed=config["seed"],
        resamples=config["evaluation"]["bootstrap_resamples"],
        models=lambda w: list(split_models()),
        run_settings=run_settings(),
        min_fp_volume_mm3=config["evaluation"]["min_fp_volume_mm3"],
    script:
        "../workflow_scripts/tables.py"


rule make_figures:
    input:
        unpack(figure_inputs),
    output:
        **figure_outputs(for_report=True),
    log:
        f"{RUN}/logs/figures/figures.log",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        size_threshold=config["evaluation"]["size_threshold"],
        found_fraction=config["evaluation"]["found_fraction"],
    script:
        "../workflow_scripts/figures.py"


# Regenerates every table and figure from saved metrics and predictions:
#   snakemake figures_and_tables --forcerun make_tables make_figures
rule figures_and_tables:
    input:
        **table_outputs(),
        **figure_outputs(),
