# The cohort, the split checkpoint and the input
# functions that need them. File names are written out in the rule files;
# input functions refer to them through rules.<rule>.output.<name>.
import json
from dataclasses import asdict

from brainmets.evaluation.metrics import configured_settings
from brainmets.layout import FIGURES, PreprocessingFiles, ingested_files, record_files
from brainmets.lesions import LesionInstances
from brainmets.network.paths import model_files
from brainmets.preprocessing.registration_gate import lets_through, read_verdict
from brainmets.sequences import (
    SEQUENCES,
    alternative_reference,
    patient_grid,
)
from brainmets.settings_summary import run_settings
from brainmets.workflow import (
    cohort_records,
    cohort_sequences,
    incomplete_patients,
    inputs_preprocessed,
)


def phantom_files(pid):
    """One synthetic patient's files, as rule phantom_patient names them."""
    out = rules.phantom_patient.output
    return {name: expand(pattern, pid=pid)[0] for name, pattern in out.items()}


RECORDS = cohort_records(config, RUN, phantom_files)
# The network's inputs: the sequences every patient has (or, with
# cohort.incomplete_patients: test, most patients). The reference grid
# (labels, network input) is the first of preprocessing.reference among
# them: the BRAVO, else the post-Gd T1 (BraTS, most clinical protocols).
USED, LEFT_OUT = cohort_sequences(RECORDS, config["cohort"]["incomplete_patients"])
# Patients lacking some of them, and what they lack: test patients only,
# preprocessed and evaluated without it (rule infer_incomplete_patient).
INCOMPLETE = incomplete_patients(RECORDS, USED, config["training"])
# Every patient with all the inputs: the workflow's main path.
PATIENTS = sorted(pid for pid in RECORDS if pid not in INCOMPLETE)
EVERY_PATIENT = sorted(RECORDS)
LABELLED = [pid for pid in PATIENTS if RECORDS[pid].lesions is not None]
UNLABELLED = [pid for pid in PATIENTS if RECORDS[pid].lesions is None]
for seq, lacking in LEFT_OUT.items():
    logger.warning(
        f"{seq} is left out for every patient: {len(lacking)} of them have none "
        f"({', '.join(lacking[:10])}{', ...' if len(lacking) > 10 else ''})"
    )
# The cohort's grid, decided as for one patient of brainmets-predict: brain
# extraction on the pre-contrast T1 (paper), else on the reference, whose
# native-grid mask then needs its own name.
REF, BET_ON = patient_grid(USED, config["preprocessing"]["reference"])
MOVING = [seq for seq in USED if seq != REF]
# Every patient's preprocessing files, named as brainmets-predict names them
# (with the {pid} wildcard).
PATIENT_FILES = PreprocessingFiles.bids(
    f"{RUN}/preproc", f"{RUN}/qc", "{pid}", REF, BET_ON
)
# A patient without the reference (most clinical protocols have no BRAVO) is
# preprocessed on the next one (patient_grid): the sequence ablation evaluates
# its input sets without the reference on that grid. None when brain
# extraction needs the reference itself.
ALT_REF = alternative_reference(USED, config["preprocessing"]["reference"])
ALT_USED = [seq for seq in USED if seq != REF]
ALT_MOVING = [seq for seq in ALT_USED if seq != ALT_REF]
# A patient's files on that grid, beside those on the first.
ALT_PATIENT_FILES = ALT_REF and PreprocessingFiles.bids(
    f"{RUN}/preproc", f"{RUN}/qc", "{pid}", ALT_REF, BET_ON, second_grid=True
)
# The grids a sequence-dropout model is evaluated on (params of its rules).
NETWORK_GRIDS = {
    "sequences": USED,
    "alternative_reference": ALT_REF,
    "alternative_sequences": ALT_USED,
}
# What every inference job asks a scheduler for.
INFERENCE_RESOURCES = {
    "gpu": config["inference"]["gpus"],
    "mem_mb": 6000,
    "runtime": 60,
}
# Skull-stripped, co-registered training images: predict skips those steps.
INPUTS_PREPROCESSED = inputs_preprocessed(RECORDS)
# The files in the folder of rule infer, for each patient (the probability map and
# the inference report).
PROBABILITY = (
    f"{RUN}/predictions/{{model}}/sub-{{pid}}_space-{REF}_desc-lesion_probseg.nii.gz"
)
INFERENCE_REPORT = f"{RUN}/predictions/{{model}}/sub-{{pid}}_desc-inference.json"
# Evaluation settings as plain values (EvaluationSettings.from_config's).
EVALUATION_SETTINGS = configured_settings(config)
# What counts as one lesion, as plain values: Table 1 and the subgroups
# count lesions as the evaluation does.
LESION_INSTANCES = asdict(LesionInstances.from_config(config))
TABLES = [
    *[f"table{n}" for n in ("3a", "3b", "3c", "4a", "4b", "4c")],
    "lesionwise",
    "bootstrap",
    "operating_points",
    "dev_froc",
]


def captioned(folder, names, extension, category):
    """Outputs ``<name>_<extension>``: ``folder``/<name>.<extension> for each
    of ``names``, in the report under ``category`` with its caption
    (report/<name>.rst)."""
    return {
        f"{name}_{extension}": report(
            f"{RUN}/{folder}/{name}.{extension}",
            caption=f"../report/{name}.rst",
            category=category,
        )
        for name in names
    }


def normalization_params(sequences, moving, reference):
    """What normalization onto ``reference`` needs to know: the sequences
    brought onto its grid, those registered onto it, and where the brain
    mask was drawn (rule brain_extraction's, for every grid)."""
    return {
        "sequences": sequences,
        "moving": moving,
        "reference": reference,
        "bet_on": BET_ON,
        "preprocessing": config["preprocessing"],
    }


def id_pattern(ids):
    """A wildcard constraint matching exactly these patient ids."""
    return "|".join(ids) if ids else "(?!x)x"


wildcard_constraints:
    pid="[A-Za-z0-9]+",
    seq="|".join(SEQUENCES),
    model="[A-Za-z0-9]+",
    table="|".join(TABLES),
    figure="|".join(FIGURES),


# One log per patient, whichever rule ingests it.
INGEST_LOG = f"{RUN}/logs/cohort/sub-{{pid}}.log"


def ingest_params(sequences):
    """What ingesting a patient with these sequences needs: its cohort row,
    the sequences, the reference they are checked against (the first of
    preprocessing.reference among them) and what counts as one lesion."""
    return {
        "record": ingest_record,
        "sequences": sequences,
        "reference": patient_grid(
            sequences, config["preprocessing"]["reference"]
        ).reference,
        "lesion_instances": LESION_INSTANCES,
    }


def ingest_inputs(wildcards):
    return [str(p) for p in RECORDS[wildcards.pid].input_paths()]


def ingest_record(wildcards):
    """The cohort row of one patient, resolved once when the DAG is built."""
    return RECORDS[wildcards.pid]


def patient_preprocessed(wildcards):
    """Whether the cohort gives this patient's images skull-stripped and
    co-registered (BrainMetShare, BraTS)."""
    return bool(RECORDS[wildcards.pid].metadata.get("preprocessed"))


def source_files(wildcards):
    """The file (or folder) the cohort gives for each of the patient's
    sequences, as the registration reports name it."""
    return {seq: str(path) for seq, path in RECORDS[wildcards.pid].images.items()}


def phantom_truth(*names):
    """An input function: the phantom's ground-truth files ``names`` of the
    patient (as truth_<name>), where the cohort is the phantom; else none."""

    def truth(wildcards):
        if RECORDS[wildcards.pid].source != "phantom":
            return {}
        out = rules.phantom_patient.output
        return {f"truth_{n}": expand(out[n], pid=wildcards.pid)[0] for n in names}

    return truth


def per_patient(pattern, pids=None, **wildcards):
    """``pattern`` (a rule's output, with {pid}) for each patient."""
    return expand(pattern, pid=PATIENTS if pids is None else pids, **wildcards)


def registration_let_through(pids):
    """Those of ``pids`` whose co-registration verdict lets them go on
    (known once each patient's registration_verdict checkpoint has run)."""
    verdicts = {
        pid: checkpoints.registration_verdict.get(pid=pid).output[0] for pid in pids
    }
    return [pid for pid in pids if lets_through(read_verdict(verdicts[pid]))]


def qc_table_later_inputs(wildcards):
    """The reports after co-registration, of the patients the registration
    gate let through (the rule's own inputs hold every verdict, so that all
    patients are registered before this is asked)."""
    through = registration_let_through(PATIENTS)
    labelled = [pid for pid in LABELLED if pid in through]
    return {
        "normalize": per_patient(rules.normalize.output.normalize_report, through),
        "lesions": per_patient(rules.resample_lesions.output.lesions, labelled),
        "lesion_brain_masks": per_patient(rules.normalize.output.brain_mask, labelled),
    }


def split_models():
    """Networks to train, each with train/dev/test patients (read from the
    split, so the DAG below it is known once the split is written)."""
    with open(checkpoints.splits.get().output[0]) as fh:
        return json.load(fh)["models"]


def members(model, *roles):
    return [pid for role in roles for pid in split_models()[model][role]]


def training_inputs(wildcards):
    train, dev = members(wildcards.model, "train"), members(wildcards.model, "dev")
    inputs = {
        "train": per_patient(rules.tfrecords.output.index, train),
        "dev": per_patient(rules.tfrecords.output.index, dev),
        "shards": per_patient(rules.tfrecords.output.shard, train + dev),
    }
    start = config["training"].get("initial_model")
    if start:
        # Fine-tuning: a new starting model retrains.
        files = model_files(start)
        inputs["initial_model"] = [files["model"], files["card"]]
    return inputs


def complete(pids):
    """Those of ``pids`` with every input (rule infer's patients)."""
    return [pid for pid in pids if pid not in INCOMPLETE]


def inferred_patients(wildcards):
    """A model's development and test patients with every input, in a
    fixed order (those lacking one: rule infer_incomplete_patient)."""
    return complete(members(wildcards.model, "dev", "test"))


def dev_patients(wildcards):
    """A model's development patients, in the order of its inputs."""
    return members(wildcards.model, "dev")


def test_patients(wildcards):
    """A model's test patients with every input (the sequence ablation's),
    in the order of its inputs."""
    return complete(members(wildcards.model, "test"))


def patients_files(pattern, patients):
    """An input function: ``pattern`` (PROBABILITY or INFERENCE_REPORT) of
    a model's ``patients`` (inferred_patients, dev_patients), in their order."""

    def files(wildcards):
        return expand(pattern, model=wildcards.model, pid=patients(wildcards))

    return files


def network_inputs(pids):
    """The network's inputs of these patients: sequences and brain masks."""
    return {
        **{seq: per_patient(rules.normalize.output[seq], pids) for seq in USED},
        "brain_mask": per_patient(rules.normalize.output.brain_mask, pids),
    }


def inference_inputs(wildcards):
    return network_inputs(inferred_patients(wildcards))


def threshold_inputs(wildcards):
    dev = members(wildcards.model, "dev")
    inputs = {
        "lesions": per_patient(rules.resample_lesions.output.lesions, dev),
        "brain_mask": per_patient(rules.normalize.output.brain_mask, dev),
    }
    if config["training"]["sequence_dropout"] > 0:
        inputs["input_sets"] = expand(
            rules.input_set_operating_points.output[0], model=wildcards.model
        )
    return inputs


def labelled_network_inputs(pids):
    """The network's inputs and lesion masks of these patients, and, where
    the workflow has another reference, the same on its grid (``alt_``)."""
    inputs = {
        **network_inputs(pids),
        "lesions": per_patient(rules.resample_lesions.output.lesions, pids),
    }
    if ALT_REF:
        out = rules.alternative_reference_preprocessing.output
        names = [*ALT_USED, "brain_mask", "lesions"]
        inputs.update({f"alt_{name}": per_patient(out[name], pids) for name in names})
    return inputs


def dev_network_inputs(wildcards):
    return labelled_network_inputs(members(wildcards.model, "dev"))


def ablation_inputs(wildcards):
    return labelled_network_inputs(test_patients(wildcards))


def evaluated_patients():
    """(model, patient) of every test patient: the paper's test set, or
    every held-out fold under k-fold."""
    return [(m, pid) for m in split_models() for pid in members(m, "test")]


def evaluated_files(model, pid):
    """What a test patient is evaluated on: its probability map, lesions,
    brain mask and reference image, from the workflow's main path, or for
    a patient lacking an input, on its own grid (infer_incomplete_patient)."""
    if pid in INCOMPLETE:
        pre = rules.preprocess_incomplete_patient.output
        names = ("lesions", "brain_mask", "reference_image")
        return {
            "probability": expand(
                rules.infer_incomplete_patient.output.probability, model=model, pid=pid
            )[0],
            **{name: expand(pre[name], pid=pid)[0] for name in names},
        }
    return {
        "probability": expand(PROBABILITY, model=model, pid=pid)[0],
        "lesions": expand(rules.resample_lesions.output.lesions, pid=pid)[0],
        "brain_mask": expand(rules.normalize.output.brain_mask, pid=pid)[0],
        "reference_image": expand(rules.normalize.output[REF], pid=pid)[0],
    }


def evaluation_inputs(wildcards):
    """Rule evaluate_patient's maps: the probability map's producer (rule
    infer's folder, or the map itself), lesions and brain mask."""
    files = evaluated_files(wildcards.model, wildcards.pid)
    producer = (
        files["probability"]
        if wildcards.pid in INCOMPLETE
        else expand(rules.infer.output[0], model=wildcards.model)[0]
    )
    return {
        "predictions": producer,
        "lesions": files["lesions"],
        "brain_mask": files["brain_mask"],
    }


def evaluated_probability(wildcards):
    return evaluated_files(wildcards.model, wildcards.pid)["probability"]


def missing_inputs(wildcards):
    """The inputs a patient lacks (none but for incomplete patients)."""
    return list(INCOMPLETE.get(wildcards.pid, ()))


def incomplete_images(wildcards):
    """The ingested images a patient lacking some inputs has."""
    out = rules.ingest_labelled_patient.output
    have = [seq for seq in USED if seq not in INCOMPLETE[wildcards.pid]]
    return {seq: expand(out[seq], pid=wildcards.pid)[0] for seq in have}


def patient_metrics(wildcards):
    return [
        expand(rules.evaluate_patient.output[0], model=m, pid=pid)[0]
        for m, pid in evaluated_patients()
    ]


def model_names(wildcards):
    """The models of the split, in its order."""
    return list(split_models())


def models_output(pattern):
    """``pattern`` (with {model}) for every model of the split."""

    def every_model(wildcards):
        return expand(pattern, model=model_names(wildcards))

    return every_model


def case_patients(wildcards):
    """Every evaluated patient, in the order of case_inputs and
    case_probabilities."""
    return [pid for _, pid in evaluated_patients()]


def case_inputs(wildcards):
    """Images of every evaluated patient, for the example-case figures."""
    files = {(m, p): evaluated_files(m, p) for m, p in evaluated_patients()}
    return {
        "case_reference": [f["reference_image"] for f in files.values()],
        "case_lesions": [f["lesions"] for f in files.values()],
        # Maps outside rule infer's folders (patients lacking an input).
        "case_predictions": [
            f["probability"] for (_, p), f in files.items() if p in INCOMPLETE
        ],
    }


def case_probabilities(wildcards):
    return [evaluated_files(m, p)["probability"] for m, p in evaluated_patients()]


def network_outputs(wildcards):
    """Every model, its operating threshold and its predictions."""
    return [
        *expand(rules.train.output.model, model=list(split_models())),
        *expand(rules.operating_threshold.output[0], model=list(split_models())),
        *expand(rules.infer.output[0], model=list(split_models())),
    ]
