rule tfrecords:
    input:
        unpack(record_inputs),
    output:
        **record_outputs(),
    log:
        f"{RUN}/logs/records/sub-{{pid}}.log",
    benchmark:
        f"{RUN}/benchmarks/records/sub-{{pid}}.tsv"
    wildcard_constraints:
        pid=id_pattern(LABELLED),
    conda:
        "../envs/network.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        normalization=config["preprocessing"]["normalization"],
    script:
        "../workflow_scripts/tfrecords.py"


rule train:
    input:
        unpack(training_inputs),
    output:
        **model_outputs(),
    log:
        f"{RUN}/logs/models/{{model}}_train.log",
    benchmark:
        f"{RUN}/benchmarks/models/{{model}}_train.tsv"
    conda:
        "../envs/network.yaml"
    threads: 8
    resources:
        gpu=config["training"]["gpus"],
        mem_mb=24000,
        runtime=24 * 60,
    params:
        network=config["network"],
        training=config["training"],
        preprocessing=config["preprocessing"],
        seed=config["seed"],
        context=config["records"]["context"],
    script:
        "../workflow_scripts/train.py"


rule infer:
    input:
        unpack(inference_inputs),
    output:
        **prediction_outputs(),
    log:
        f"{RUN}/logs/predictions/{{model}}_sub-{{pid}}.log",
    benchmark:
        f"{RUN}/benchmarks/predictions/{{model}}_sub-{{pid}}.tsv"
    conda:
        "../envs/network.yaml"
    threads: 1
    resources:
        gpu=config["inference"]["gpus"],
        mem_mb=6000,
        runtime=30,
    params:
        batch_size=config["inference"]["batch_size"],
        gpus=config["inference"]["gpus"],
        allow_cpu_fallback=config["inference"]["allow_cpu_fallback"],
    script:
        "../workflow_scripts/infer.py"


rule operating_threshold:
    input:
        unpack(threshold_inputs),
    output:
        str(model_files(Path(RUN) / "models" / "{model}")["threshold"]),
    log:
        f"{RUN}/logs/models/{{model}}_threshold.log",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        operating_point=config["evaluation"]["operating_point"],
        froc_max_fp=config["evaluation"]["froc_max_false_positives"],
        connectivity=config["cohort"]["lesion_connectivity"],
    script:
        "../workflow_scripts/operating_threshold.py"
