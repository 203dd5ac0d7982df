"""Screen a sequence-dropout training recipe on a finished workflow run:
retrain its main model with some training settings changed, choose each
input set's operating point on the run's development patients, and print
the sequence ablation of its test patients.

    python benchmarks/dropout_recipe.py --run results/demo --out /tmp/recipe \\
        --set '{"epochs": 16, "sequence_dropout_fill": "mid_grey"}'

Takes the run's records, split and preprocessed images, and the settings of
its ``--config`` files (default ``config.yaml``; repeat for overlays) with
``--set``'s JSON laid over the ``training`` block; trains with ``--threads`` CPU threads (two screens side
by side: 1 each). The input sets without BRAVO are chosen and scored on the
run's T1gd-referenced preprocessing of a patient where the run made one
(``alternative_reference_preprocessing``, as its ablation does), else on the
BRAVO grid with the missing sequences blanked. Prints one row per input set:
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
    from brainmets.evaluation.input_set_points import dev_input_set_points
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

    def files(pid: str, grid: str = reference) -> dict:
        anat = args.run / "preproc" / f"sub-{pid}" / "anat"
        return {
            "images": {s: anat / f"sub-{pid}_space-{grid}_desc-preproc_{s}.nii.gz" for s in card["sequences"] if s != reference or grid == reference},
            "brain_mask": anat / f"sub-{pid}_space-{grid}_desc-brain_mask.nii.gz",
            "lesions": anat / f"sub-{pid}_space-{grid}_desc-lesions_mask.nii.gz",
        }

    evaluation = config["evaluation"]
    settings = EvaluationSettings.from_config(config)
    margin, batch = config["inference"]["window_margin"], config["inference"]["batch_size"]
    choice, froc = evaluation["operating_point"], evaluation["froc_max_false_positives"]
    # The run's T1gd-referenced preprocessing, where it made one: the sets
    # without BRAVO are chosen and scored there, as the workflow does.
    alternative = {"T1gd": {pid: files(pid, "T1gd") for pid in split["dev"] + split["test"] if files(pid, "T1gd")["brain_mask"].exists()}}
    complete = DevCurve(settings)
    for pid in split["dev"]:
        f = files(pid)
        volumes, mask, affine, _ = load_preprocessed(card, f["images"], f["brain_mask"])
        prob = predict_volume(model, card, volumes, mask, batch, [], margin)
        complete.add(pid, from_slices_last(prob, affine), load_nifti(f["lesions"], np.uint8)[0] > 0, from_slices_last(mask, affine) > 0, affine)
    points = dev_input_set_points(model, card, {pid: files(pid) for pid in split["dev"]}, choice, froc, settings, batch, margin, alternative)
    thresholds = {"all given": choose_operating_point(*complete.result(), choice, froc, what="all given")["operating_threshold"]}
    thresholds.update({label: point["operating_threshold"] for label, point in points.items()})
    scoring = EvaluationSettings.from_config(config, threshold=thresholds["all given"])
    rows = ablation_rows(model, card, {pid: files(pid) for pid in split["test"]}, scoring, batch, margin, thresholds, alternative)
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
