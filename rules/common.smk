# Python helpers of the workflow: config validation, the cohort, and the
# paths every rule writes. Rule files hold rules only.
import json
from pathlib import Path

from snakemake.utils import validate

from brainmets.cohort.ingest import cohort_paths
from brainmets.network.paths import model_files, prediction_paths, record_paths
from brainmets.phantom.generate import patient_ids, phantom_paths, plan_subgroups
from brainmets.layout import MOVING, coregistration_paths, figure_paths, preproc_paths
from brainmets.sequences import SEQUENCES
from brainmets.workflow import cohort_records

validate(config, schema="../schemas/config.schema.yaml")

RUN = f"results/{config['run_name']}"
RECORDS = cohort_records(config, RUN)
PATIENTS = sorted(RECORDS)
LABELLED = [pid for pid in PATIENTS if RECORDS[pid].lesions is not None]
UNLABELLED = [pid for pid in PATIENTS if RECORDS[pid].lesions is None]
NEVER = "(?!x)x"


def id_pattern(ids):
    """A wildcard constraint matching exactly these patient ids."""
    return "|".join(ids) if ids else NEVER


wildcard_constraints:
    pid="[A-Za-z0-9]+",
    seq="|".join(MOVING),
    model="[A-Za-z0-9]+",


def phantom_outputs():
    """Files of one synthetic patient, with {pid} as wildcard."""
    paths = phantom_paths(Path(RUN) / "phantom" / "sub-{pid}", "{pid}")
    return {key: str(path) for key, path in paths.items()}


def phantom_params(wildcards):
    pid = wildcards.pid
    subgroups = plan_subgroups(
        config["phantom"]["n_patients"],
        config["phantom"]["subgroup_proportions"],
        config["seed"],
    )
    return {
        "index": patient_ids(config["phantom"]["n_patients"]).index(pid),
        "subgroup": subgroups[pid],
    }


def cohort_outputs(labelled):
    """Internal form of one patient, with {pid} as wildcard."""
    paths = cohort_paths(Path(RUN) / "cohort", "{pid}")
    keys = [*SEQUENCES, "lesion_table", "patient"] + (["lesions"] if labelled else [])
    return {key: str(paths[key]) for key in keys}


def ingest_inputs(wildcards):
    return [str(p) for p in RECORDS[wildcards.pid].input_paths()]


def cohort_files(key, pids=None):
    pids = PATIENTS if pids is None else pids
    return [str(cohort_paths(Path(RUN) / "cohort", pid)[key]) for pid in pids]


def table1_outputs():
    return {
        "csv": f"{RUN}/tables/table1.csv",
        "md": f"{RUN}/tables/table1.md",
    }


def _preproc(pid):
    return preproc_paths(Path(RUN) / "preproc", Path(RUN) / "qc", pid)


def preproc_outputs(*keys):
    """Preprocessing files of one patient, with {pid} as wildcard."""
    paths = _preproc("{pid}")
    return {key: str(paths[key]) for key in keys}


def coregistration_outputs():
    paths = coregistration_paths(
        Path(RUN) / "preproc", Path(RUN) / "qc", "{pid}", "{seq}"
    )
    outputs = {key: str(path) for key, path in paths.items()}
    outputs["coreg_qc"] = report(
        outputs["coreg_qc"],
        caption="../report/qc_coregistration.rst",
        category="Quality control",
        subcategory="sub-{pid}",
    )
    return outputs


def cohort_inputs(wildcards):
    """The four ingested sequences and the patient file of one patient."""
    paths = cohort_paths(Path(RUN) / "cohort", wildcards.pid)
    return {
        **{seq: str(paths[seq]) for seq in SEQUENCES},
        "patient": str(paths["patient"]),
    }


def brain_extraction_inputs(wildcards):
    inputs = cohort_inputs(wildcards)
    return {"t1pre": inputs["T1pre"], "patient": inputs["patient"]}


def coregistration_inputs(wildcards):
    paths = cohort_paths(Path(RUN) / "cohort", wildcards.pid)
    return {
        "bravo": str(paths["BRAVO"]),
        "moving": str(paths[wildcards.seq]),
        "patient": str(paths["patient"]),
    }


def normalization_inputs(wildcards):
    paths = _preproc(wildcards.pid)
    return {
        **cohort_inputs(wildcards),
        "bet_mask": str(paths["bet_mask"]),
        **{f"xfm_{seq}": str(paths[f"xfm_{seq}"]) for seq in MOVING},
    }


def lesion_resampling_inputs(wildcards):
    return {
        "lesions": str(cohort_paths(Path(RUN) / "cohort", wildcards.pid)["lesions"]),
        "brain_mask": str(_preproc(wildcards.pid)["brain_mask"]),
    }


def preproc_files(key, pids=None):
    return [str(_preproc(pid)[key]) for pid in (PATIENTS if pids is None else pids)]


def preprocessing_qc_inputs():
    return {
        "bet": preproc_files("bet_report"),
        "normalize": preproc_files("normalize_report"),
        "xfm": [f for seq in MOVING for f in preproc_files(f"xfm_report_{seq}")],
        "lesions": preproc_files("lesions", LABELLED),
        "lesion_brain_masks": preproc_files("brain_mask", LABELLED),
    }


def record_outputs():
    paths = record_paths(Path(RUN) / "records", "{pid}")
    return {key: str(path) for key, path in paths.items()}


def record_inputs(wildcards):
    paths = _preproc(wildcards.pid)
    return {
        **{seq: str(paths[f"preproc_{seq}"]) for seq in SEQUENCES},
        "brain_mask": str(paths["brain_mask"]),
        "lesions": str(paths["lesions"]),
    }


def split_models():
    """Networks to train, each with train/dev/test patients (read from the
    split, so the DAG below it is known once the split is written)."""
    with open(checkpoints.splits.get().output[0]) as fh:
        return json.load(fh)["models"]


def model_outputs():
    files = model_files(Path(RUN) / "models" / "{model}")
    return {key: str(files[key]) for key in ("model", "card", "history")}


def _model_file(model, key):
    return str(model_files(Path(RUN) / "models" / model)[key])


def training_inputs(wildcards):
    members = split_models()[wildcards.model]
    pids = members["train"] + members["dev"]
    return {
        "split": f"{RUN}/records/splits.json",
        "train": [
            str(record_paths(Path(RUN) / "records", p)["index"])
            for p in members["train"]
        ],
        "dev": [
            str(record_paths(Path(RUN) / "records", p)["index"]) for p in members["dev"]
        ],
        "shards": [str(record_paths(Path(RUN) / "records", p)["shard"]) for p in pids],
    }


def prediction_outputs():
    paths = prediction_paths(Path(RUN) / "predictions" / "{model}", "{pid}")
    return {key: str(path) for key, path in paths.items()}


def inference_inputs(wildcards):
    paths = _preproc(wildcards.pid)
    return {
        **{seq: str(paths[f"preproc_{seq}"]) for seq in SEQUENCES},
        "brain_mask": str(paths["brain_mask"]),
        "model": _model_file(wildcards.model, "model"),
        "card": _model_file(wildcards.model, "card"),
    }


def prediction_files(model, pids, key="probability"):
    return [
        str(prediction_paths(Path(RUN) / "predictions" / model, pid)[key])
        for pid in pids
    ]


def threshold_inputs(wildcards):
    dev = split_models()[wildcards.model]["dev"]
    return {
        "probability": prediction_files(wildcards.model, dev),
        "lesions": preproc_files("lesions", dev),
        "brain_mask": preproc_files("brain_mask", dev),
    }


def evaluated_patients():
    """(model, patient) of every test patient: the paper's test set, or
    every held-out fold under k-fold."""
    return [
        (m, pid) for m, members in split_models().items() for pid in members["test"]
    ]


def patient_metrics_file(model, pid):
    return f"{RUN}/metrics/patients/{model}/sub-{pid}.json"


def evaluation_inputs(wildcards):
    paths = _preproc(wildcards.pid)
    return {
        "probability": prediction_files(wildcards.model, [wildcards.pid])[0],
        "lesions": str(paths["lesions"]),
        "brain_mask": str(paths["brain_mask"]),
        "threshold": _model_file(wildcards.model, "threshold"),
        "patient": str(cohort_paths(Path(RUN) / "cohort", wildcards.pid)["patient"]),
    }


def metrics_inputs(wildcards):
    return [patient_metrics_file(m, pid) for m, pid in evaluated_patients()]


METRICS = {key: f"{RUN}/metrics/{key}.tsv" for key in ("per_patient", "lesions", "roc")}
TABLES = [
    *[f"table{n}" for n in ("3a", "3b", "3c", "4a", "4b", "4c")],
    "lesionwise",
    "bootstrap",
    "operating_points",
    "dev_froc",
]


def run_settings():
    """This run's values of the settings the paper comparison lists."""
    training = config["training"]
    return {
        "patients": (
            config["phantom"]["n_patients"]
            if config["cohort"]["source"] == "phantom"
            else None
        ),
        "smallest lesion diameter (mm)": (
            config["phantom"]["lesion_diameter_min_mm"]
            if config["cohort"]["source"] == "phantom"
            else None
        ),
        "in-plane matrix": config["preprocessing"]["inplane_size"],
        "network width": config["network"]["width"],
        "batch size": training["batch_size"],
        "batches per epoch": training["steps_per_epoch"]
        or "one pass over the training slices",
        "epochs": training["epochs"],
        "learning rate": training["learning_rate"],
        "training patches": (
            f"{training['crop']}x{training['crop']}"
            if training["crop"]
            else "whole slices"
        ),
        "operating point": config["evaluation"]["operating_point"],
        "development patients": (
            f"at least {config['split']['min_dev_patients']}"
            if config["split"]["min_dev_patients"] > 1
            else "train:dev 20:1"
        ),
        "brain-mask margin (mm)": config["preprocessing"]["mask_margin_mm"],
    }


def table_outputs(for_report=False):
    outputs = {
        f"{t}_{ext}": f"{RUN}/tables/{t}.{ext}" for t in TABLES for ext in ("csv", "md")
    }
    outputs["paper_comparison"] = f"{RUN}/tables/paper_comparison.md"
    if for_report:
        for t in TABLES:
            outputs[f"{t}_csv"] = report(
                outputs[f"{t}_csv"], caption=f"../report/{t}.rst", category="Tables"
            )
    return outputs


def figure_outputs(for_report=False):
    outputs = {
        f"{name}_{ext}": str(path)
        for name, files in figure_paths(Path(RUN) / "figures").items()
        for ext, path in files.items()
    }
    if for_report:
        for name in figure_paths(Path(RUN) / "figures"):
            outputs[f"{name}_png"] = report(
                outputs[f"{name}_png"],
                caption=f"../report/{name}.rst",
                category="Figures",
            )
    return outputs


def figure_inputs(wildcards):
    cases = evaluated_patients()
    return {
        **METRICS,
        "history": [_model_file(m, "history") for m in split_models()],
        "case_probability": [prediction_files(m, [pid])[0] for m, pid in cases],
        "case_bravo": [str(_preproc(pid)["preproc_BRAVO"]) for _, pid in cases],
        "case_lesions": [str(_preproc(pid)["lesions"]) for _, pid in cases],
    }


def network_outputs(wildcards):
    """Every model, its operating threshold and its predictions."""
    outputs = []
    for name, members in split_models().items():
        outputs += [_model_file(name, "model"), _model_file(name, "threshold")]
        outputs += prediction_files(name, members["dev"] + members["test"])
    return outputs + list(table_outputs().values()) + list(figure_outputs().values())


def all_outputs():
    return [
        *cohort_files("patient"),
        *table1_outputs().values(),
        *[f for seq in SEQUENCES for f in preproc_files(f"preproc_{seq}")],
        *preproc_files("lesions", LABELLED),
        f"{RUN}/qc/preprocessing.tsv",
        f"{RUN}/records/splits.json",
        f"{RUN}/provenance.json",
    ]
