"""Screen a sequence-dropout training recipe on a finished workflow run:
retrain its main model with some training settings changed, choose each
input set's operating point on the run's development patients, and print
the sequence ablation of its test patients.

    python benchmarks/dropout_recipe.py --run results/demo --out /tmp/recipe \\
        --set '{"epochs": 16, "sequence_dropout_fill": "mid_grey"}'

Takes the run's records, split and preprocessed images, and the settings of
its ``--config`` files (default ``config.yaml``; repeat for overlays) with
``--set``'s JSON laid over the ``training`` block; trains with ``--threads`` CPU threads (two screens side
by side: 1 each). A screen, not the workflow's ablation: every input set is
evaluated on the reference (BRAVO) grid, with the missing sequences blanked
there (the workflow's sets without BRAVO use T1gd-referenced preprocessing,
``alternative_reference_preprocessing``). Prints one row per input set:
threshold, mean (sd) Dice, lesion sensitivity and false positives per
patient (all, and of at least ``evaluation.min_fp_volume_mm3``), and writes
the per-patient rows to ``--out``/ablation_rows.tsv. Training is
deterministic: a recipe's result repeats with the same seed and threads.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import yaml


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, type=Path, help="a finished workflow run, e.g. results/demo")
    ap.add_argument("--out", required=True, type=Path, help="folder for the model and the rows")
    ap.add_argument("--config", action="append", type=Path, help="the run's config files, in order (default: config.yaml)")
    ap.add_argument("--set", default="{}", help="JSON laid over the config's training block")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from brainmets.evaluation.ablation import ablation_rows
    from brainmets.evaluation.ablation_table import ablation_table
    from brainmets.evaluation.input_sets import input_sets
    from brainmets.evaluation.metrics import EvaluationSettings
    from brainmets.evaluation.threshold import DevCurve, choose_operating_point
    from brainmets.network.devices import configure_gpus, limit_cpu_threads
    from brainmets.network.inference import load_preprocessed, predict_volume
    from brainmets.network.paths import model_files
    from brainmets.network.records import read_index
    from brainmets.network.train import cohort_description, load_trained, train_model
    from brainmets.niio import load_nifti
    from brainmets.slices import from_slices_last

    config = {}
    for path in args.config or [Path("config.yaml")]:
        config = merged(config, yaml.safe_load(path.read_text()))
    training = {**config["training"], **json.loads(args.set)}
    split = json.loads((args.run / "records" / "splits.json").read_text())["models"]["main"]
    configure_gpus(0, True, "training")
    limit_cpu_threads(args.threads)
    started = time.perf_counter()
    index = {pid: read_index(args.run / "records" / f"sub-{pid}_slices.json") for pid in split["train"] + split["dev"]}
    train_model(
        [index[p] for p in split["train"]], [index[p] for p in split["dev"]], model_files(args.out), config["network"], training,
        config["preprocessing"], config["seed"], config["records"]["context"], cohort_description("phantom", False),
    )
    trained = time.perf_counter() - started
    model, card = load_trained(args.out)
    reference = card["preprocessing"].get("reference", ["BRAVO"])[0]

    def files(pid: str) -> dict:
        anat = args.run / "preproc" / f"sub-{pid}" / "anat"
        return {
            "images": {s: anat / f"sub-{pid}_space-{reference}_desc-preproc_{s}.nii.gz" for s in card["sequences"]},
            "brain_mask": anat / f"sub-{pid}_space-{reference}_desc-brain_mask.nii.gz",
            "lesions": anat / f"sub-{pid}_space-{reference}_desc-lesions_mask.nii.gz",
        }

    evaluation = config["evaluation"]
    settings = EvaluationSettings.from_config(config)
    sets = input_sets(card["sequences"])
    curves = {label: DevCurve(settings) for label in sets}
    margin, batch = config["inference"]["window_margin"], config["inference"]["batch_size"]
    for pid in split["dev"]:
        f = files(pid)
        volumes, mask, affine, _ = load_preprocessed(card, f["images"], f["brain_mask"])
        truth = load_nifti(f["lesions"], np.uint8)[0] > 0
        brain = from_slices_last(mask, affine) > 0
        for label, missing in sets.items():
            prob = predict_volume(model, card, volumes, mask, batch, list(missing), margin)
            curves[label].add(pid, from_slices_last(prob, affine), truth, brain, affine)
    choice, froc = evaluation["operating_point"], evaluation["froc_max_false_positives"]
    thresholds = {label: choose_operating_point(*curves[label].result(), choice, froc, what=label)["operating_threshold"] for label in sets}
    scoring = EvaluationSettings.from_config(config, threshold=thresholds["all given"])
    rows = ablation_rows(model, card, {pid: files(pid) for pid in split["test"]}, scoring, batch, margin, thresholds)
    rows.to_csv(args.out / "ablation_rows.tsv", sep="\t", index=False)
    table = ablation_table(rows)
    columns = ["input set", "threshold", "dice", "lesion_sensitivity", "fp_components", "fp_components_min_volume"]
    print(table[columns].to_string(index=False))
    print(f"training_seconds={trained:.0f} total_seconds={time.perf_counter() - started:.0f}")


def merged(base: dict, overlay: dict) -> dict:
    """``overlay`` laid over ``base``, block by block (as Snakemake merges
    its config files)."""
    out = dict(base)
    for key, value in overlay.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


if __name__ == "__main__":
    main()
