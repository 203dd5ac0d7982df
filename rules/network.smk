rule tfrecords:
    input:
        **{seq: rules.normalize.output[seq] for seq in USED},
        brain_mask=rules.normalize.output.brain_mask,
        lesions=rules.resample_lesions.output.lesions,
    output:
        **record_files(f"{RUN}/records", "{pid}"),
    log:
        f"{RUN}/logs/records/sub-{{pid}}.log",
    benchmark:
        f"{RUN}/benchmarks/records/sub-{{pid}}.tsv"
    wildcard_constraints:
        pid=id_pattern(LABELLED),
    conda:
        "../envs/network.yaml"
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        sequences=USED,
        normalization=config["preprocessing"]["normalization"],
    script:
        "../workflow_scripts/tfrecords.py"


rule train:
    input:
        unpack(training_inputs),
        split=rules.splits.output[0],
    output:
        model=f"{RUN}/models/{{model}}/model.keras",
        card=f"{RUN}/models/{{model}}/model.json",
        history=f"{RUN}/models/{{model}}/history.csv",
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
        cohort_source=config["cohort"]["source"],
        phantom_anatomy=config["phantom"]["anatomy"],
        inputs_preprocessed=INPUTS_PREPROCESSED,
        lesion_instances=LESION_INSTANCES,
        # Resumable state and TensorBoard summaries, beside the model.
        checkpoints=f"{RUN}/models/{{model}}/checkpoints",
        tensorboard=f"{RUN}/models/{{model}}/tensorboard",
    script:
        "../workflow_scripts/train.py"


# The trained network and its card, as the rules that load it take them.
TRAINED_MODEL = {"model": rules.train.output.model, "card": rules.train.output.card}


# One job per model: TensorFlow starts and the model loads once for all its
# development and test patients. Its folder holds, per patient, PROBABILITY
# and INFERENCE_REPORT (rules/common.smk).


rule infer:
    input:
        unpack(inference_inputs),
        **TRAINED_MODEL,
    output:
        directory(f"{RUN}/predictions/{{model}}"),
    log:
        f"{RUN}/logs/predictions/{{model}}.log",
    benchmark:
        f"{RUN}/benchmarks/predictions/{{model}}.tsv"
    conda:
        "../envs/network.yaml"
    threads: 2
    resources:
        **INFERENCE_RESOURCES,
    params:
        patients=inferred_patients,
        probability=patients_files(PROBABILITY, inferred_patients),
        report=patients_files(INFERENCE_REPORT, inferred_patients),
        sequences=USED,
        inference=config["inference"],
    script:
        "../workflow_scripts/infer.py"


# A model trained with sequence dropout: an operating point for each input
# set (a sequence left out), on its development patients given that set.
rule input_set_operating_points:
    input:
        unpack(dev_network_inputs),
        **TRAINED_MODEL,
    output:
        f"{RUN}/models/{{model}}/input_set_operating_points.json",
    log:
        f"{RUN}/logs/models/{{model}}_input_set_operating_points.log",
    benchmark:
        f"{RUN}/benchmarks/models/{{model}}_input_set_operating_points.tsv"
    conda:
        "../envs/network.yaml"
    threads: 2
    resources:
        **INFERENCE_RESOURCES,
    params:
        patients=dev_patients,
        grids=NETWORK_GRIDS,
        operating_point=config["evaluation"]["operating_point"],
        froc_max_fp=config["evaluation"]["froc_max_false_positives"],
        settings=EVALUATION_SETTINGS,
        inference=config["inference"],
    script:
        "../workflow_scripts/input_set_operating_points.py"


rule operating_threshold:
    input:
        unpack(threshold_inputs),
        predictions=rules.infer.output[0],
    output:
        f"{RUN}/models/{{model}}/threshold.json",
    log:
        f"{RUN}/logs/models/{{model}}_threshold.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        patients=dev_patients,
        probability=patients_files(PROBABILITY, dev_patients),
        operating_point=config["evaluation"]["operating_point"],
        froc_max_fp=config["evaluation"]["froc_max_false_positives"],
        settings=EVALUATION_SETTINGS,
    script:
        "../workflow_scripts/operating_threshold.py"


# A test patient lacking some inputs (cohort.incomplete_patients: test),
# predicted on its own grid at its input set's operating point (Grovik et
# al. 2021's test without BRAVO).
rule infer_incomplete_patient:
    input:
        **TRAINED_MODEL,
        preprocessed=rules.preprocess_incomplete_patient.output.report,
        brain_mask=rules.preprocess_incomplete_patient.output.brain_mask,
        threshold=rules.operating_threshold.output[0],
    output:
        probability=f"{RUN}/incomplete/predictions/{{model}}/sub-{{pid}}_desc-lesion_probseg.nii.gz",
        report=f"{RUN}/incomplete/predictions/{{model}}/sub-{{pid}}_desc-inference.json",
    log:
        f"{RUN}/logs/predictions/incomplete/{{model}}_sub-{{pid}}.log",
    benchmark:
        f"{RUN}/benchmarks/predictions/incomplete/{{model}}_sub-{{pid}}.tsv"
    wildcard_constraints:
        pid=id_pattern(INCOMPLETE),
    conda:
        "../envs/network.yaml"
    threads: 2
    resources:
        **INFERENCE_RESOURCES,
    params:
        inference=config["inference"],
    script:
        "../workflow_scripts/infer_incomplete_patient.py"
