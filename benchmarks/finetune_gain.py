"""Benchmark: what fine-tuning added, on the test patients of its folds.

    snakemake --cores 2 --configfile configs/brats2018.yaml configs/brats2018_finetune.yaml
    snakemake --cores 2 --configfile configs/brats2018.yaml configs/brats2018_scratch.yaml
    python benchmarks/finetune_gain.py --finetuned results/brats2018_finetune \\
        [--scratch results/brats2018_scratch] --out /tmp/finetune_gain

A run that fine-tuned a model (``training.initial_model``) over the folds of
a labelled cohort is set beside its starting model, unchanged, on the same
test patients: the run's own preprocessed images, the run's scoring
(``evaluation`` and the lesion rules of its configuration), each model at
its own operating point (the fine-tuned folds at the thresholds their
development patients chose, the starting model at the one in its
``threshold.json`` for the sequences given, with its least peak). With
``--scratch``, the same folds trained from random weights too. Prints, per
model, the mean tumour-core Dice (SD, range), lesion sensitivity and false
positives per patient, and each patient's Dice.

Fine-tuning is worth its cost only where it beats the model it started
from: a handful of training patients can lower what the pretraining gives.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from brainmets.evaluation.metrics import EvaluationSettings, configured_settings, evaluate_patient
from brainmets.layout import PreprocessingFiles
from brainmets.niio import load_nifti
from brainmets.predictor import Predictor
from brainmets.sequences import reference_order

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ["dice", "lesion_sensitivity", "fp_components"]


def per_patient(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "metrics" / "per_patient.tsv", sep="\t", dtype={"patient_id": str})


def starting_model(run: Path) -> Path:
    """The model folder the run's folds started from (every fold's card
    must name the same one)."""
    folders = {json.loads(card.read_text()).get("started_from", {}).get("model_folder") for card in sorted((run / "models").glob("*/model.json"))}
    if len(folders) != 1 or None in folders:
        raise SystemExit(f"{run}: its models do not all start from one model (training.initial_model): {sorted(map(str, folders))}")
    folder = Path(folders.pop())
    return folder if folder.is_absolute() else REPO / folder


def preprocessed(run: Path, pid: str, reference_preference) -> tuple[dict, Path, Path]:
    """A patient's normalized images by sequence, brain mask and lesion mask,
    on the first reference of ``reference_preference`` it has (the run's
    ``preprocessing.reference``)."""
    for reference in reference_order(reference_preference):
        files = PreprocessingFiles.bids(run / "preproc", run / "qc", pid, reference)
        if Path(files.normalization.brain_mask).exists():
            images = {seq: Path(path) for seq, path in files.normalization.images.items() if Path(path).exists()}
            return images, Path(files.normalization.brain_mask), Path(files.lesions)
    raise SystemExit(f"patient {pid}: no normalized images under {run / 'preproc'} on any of {reference_order(reference_preference)}")


def unchanged_model(run: Path, model: Path, out: Path) -> pd.DataFrame:
    """The starting model on the run's test patients, scored as the run scores."""
    config = json.loads((run / "provenance.json").read_text())["config"]
    predictor = Predictor.from_folder(model)
    settings = {**configured_settings(config), "min_peak_probability": predictor.min_peak_probability}
    rows = []
    for pid in per_patient(run).patient_id:
        images, brain_path, lesions_path = preprocessed(run, pid, config["preprocessing"].get("reference"))
        chosen = predictor.input_set(pid, images)
        path = out / f"sub-{pid}_desc-unchanged_probseg.nii.gz"
        if not path.exists():
            predictor.probability(chosen.images, brain_path, path)
        probability, affine = load_nifti(path)
        truth, _ = load_nifti(lesions_path, np.uint8)
        brain, _ = load_nifti(brain_path, np.uint8)
        row, *_ = evaluate_patient(truth, probability, brain, affine, EvaluationSettings(threshold=chosen.threshold, **settings))
        rows.append({"patient_id": pid, **{c: row[c] for c in COLUMNS}})
    return pd.DataFrame(rows)


def summary(models: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per model: mean, SD and range of Dice, mean lesion sensitivity and
    false positives; each patient's Dice by model), over the patients every
    model was scored on."""
    common = sorted(set.intersection(*(set(df.patient_id) for df in models.values())))
    dice = pd.DataFrame({name: df.set_index("patient_id").loc[common, "dice"] for name, df in models.items()})
    rows = []
    for name, df in models.items():
        scored = df.set_index("patient_id").loc[common]
        rows.append({
            "model": name, "patients": len(common), "dice_mean": scored.dice.mean(), "dice_sd": scored.dice.std(ddof=1),
            "dice_min": scored.dice.min(), "dice_max": scored.dice.max(),
            "lesion_sensitivity": scored.lesion_sensitivity.mean(), "fp_per_patient": scored.fp_components.mean(),
        })
    return pd.DataFrame(rows).set_index("model"), dice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--finetuned", type=Path, required=True, help="a run with training.initial_model set")
    parser.add_argument("--scratch", type=Path, help="the same folds trained from random weights")
    parser.add_argument("--out", type=Path, required=True, help="where the unchanged model's maps go (kept and reused)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    start = starting_model(args.finetuned)
    models = {"fine-tuned": per_patient(args.finetuned)}
    if args.scratch:
        models["from scratch"] = per_patient(args.scratch)
    models[f"unchanged ({start.name})"] = unchanged_model(args.finetuned, start, args.out)
    table, dice = summary(models)
    with pd.option_context("display.width", 200, "display.max_columns", None, "display.precision", 3):
        print(table)
        print("\ntumour-core Dice per test patient:")
        print(dice)


if __name__ == "__main__":
    main()
