rule evaluate_patient:
    input:
        unpack(evaluation_inputs),
        threshold=rules.operating_threshold.output[0],
        patient=rules.ingest_labelled_patient.output.patient,
    output:
        f"{RUN}/metrics/patients/{{model}}/sub-{{pid}}.json",
    log:
        f"{RUN}/logs/metrics/{{model}}_sub-{{pid}}.log",
    benchmark:
        f"{RUN}/benchmarks/metrics/{{model}}_sub-{{pid}}.tsv"
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        probability=evaluated_probability,
        # A patient lacking an input: its input set's operating point.
        missing=missing_inputs,
        settings=EVALUATION_SETTINGS,
    script:
        "../workflow_scripts/evaluate_patient.py"


rule collect_metrics:
    input:
        patient_metrics,
    output:
        per_patient=f"{RUN}/metrics/per_patient.tsv",
        lesions=f"{RUN}/metrics/lesions.tsv",
        roc=f"{RUN}/metrics/roc.tsv",
    log:
        f"{RUN}/logs/metrics/collect.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow_scripts/collect_metrics.py"


rule make_tables:
    input:
        **rules.collect_metrics.output,
        thresholds=models_output(rules.operating_threshold.output[0]),
    output:
        **captioned("tables", TABLES, "csv", "Tables"),
        **{f"{t}_md": f"{RUN}/tables/{t}.md" for t in TABLES},
        paper_comparison=f"{RUN}/tables/paper_comparison.md",
    log:
        f"{RUN}/logs/tables/tables.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cohort=config["cohort"]["source"],
        seed=config["seed"],
        resamples=config["evaluation"]["bootstrap_resamples"],
        models=model_names,
        run_settings=run_settings(config, USED),
        min_fp_volume_mm3=config["evaluation"]["min_fp_volume_mm3"],
    script:
        "../workflow_scripts/tables.py"


rule make_figures:
    input:
        unpack(case_inputs),
        **rules.collect_metrics.output,
        history=models_output(rules.train.output.history),
        predictions=models_output(rules.infer.output[0]),
    output:
        **captioned("figures", FIGURES, "png", "Figures"),
        **{f"{f}_pdf": f"{RUN}/figures/{f}.pdf" for f in FIGURES},
    log:
        f"{RUN}/logs/figures/figures.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        case_patients=case_patients,
        case_probability=case_probabilities,
        reference=REF,
        size_threshold=config["evaluation"]["size_threshold"],
        found_fraction=config["evaluation"]["found_fraction"],
        min_peak_probability=config["evaluation"]["lesion_min_peak_probability"],
        connectivity=config["cohort"]["lesion_connectivity"],
    script:
        "../workflow_scripts/figures.py"


# Beyond the paper (Grovik et al. 2021), for a model trained with sequence
# dropout: its test patients with each sequence left out in turn, and with
# BRAVO and T1gd together. Part of the default target when the model is
# trained with sequence dropout; alone: snakemake ablation
rule sequence_ablation:
    input:
        unpack(ablation_inputs),
        **TRAINED_MODEL,
        threshold=rules.operating_threshold.output[0],
    output:
        f"{RUN}/metrics/ablation/{{model}}.tsv",
    log:
        f"{RUN}/logs/metrics/{{model}}_ablation.log",
    benchmark:
        f"{RUN}/benchmarks/metrics/{{model}}_ablation.tsv"
    conda:
        "../envs/network.yaml"
    threads: 2
    resources:
        **INFERENCE_RESOURCES,
    params:
        patients=test_patients,
        grids=NETWORK_GRIDS,
        settings=EVALUATION_SETTINGS,
        inference=config["inference"],
    script:
        "../workflow_scripts/sequence_ablation.py"


rule ablation:
    input:
        models_output(rules.sequence_ablation.output[0]),
    output:
        csv=f"{RUN}/tables/ablation.csv",
        md=f"{RUN}/tables/ablation.md",
        png=report(
            f"{RUN}/figures/ablation.png",
            caption="../report/ablation.rst",
            category="Figures",
        ),
        pdf=f"{RUN}/figures/ablation.pdf",
    log:
        f"{RUN}/logs/tables/ablation.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        min_fp_volume_mm3=config["evaluation"]["min_fp_volume_mm3"],
        seed=config["seed"],
        resamples=config["evaluation"]["bootstrap_resamples"],
    script:
        "../workflow_scripts/ablation_table.py"


# Regenerates every table and figure from saved metrics and predictions:
#   snakemake figures_and_tables --forcerun make_tables make_figures
rule figures_and_tables:
    input:
        rules.make_tables.output,
        rules.make_figures.output,
        # A sequence-dropout model: the ablation table and figure (from saved rows).
        rules.ablation.output if config["training"]["sequence_dropout"] > 0 else [],
