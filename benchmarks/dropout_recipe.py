"""Screen a sequence-dropout training recipe on a finished workflow run:
retrain its main model with some training settings changed, choose each
input set's operating point on the run's development patients, and print
the sequence ablation of patients that do not make the reported result.

    python benchmarks/dropout_recipe.py --run results/demo --out /tmp/recipe \\
        --set '{"epochs": 16, "sequence_dropout_fill": "mid_grey"}' \\
        [--validation-run results/validation]
    python benchmarks/dropout_recipe.py --run results/demo --out /tmp/baseline \\
        --model results/demo/models/main --validation-run results/validation

Recipes are ranked on the run's development patients (the default: the
thresholds are chosen on them too, so their numbers flatter every recipe
alike), or on the test patients of ``--validation-run``, a phantom of
another seed (``snakemake --config seed=<other> run_name=validation``),
never on the test patients whose table is the run's result: choosing by
those would meet a target by selection. One training per recipe is a
first look only: the seed and thread count move a set's Dice by as much as
recipes differ, so compare the candidates over seeds on the validation
phantom (``seed_spread.py --set ... --validation-run``), then report the
chosen one's spread on the test patients (``seed_spread.py``).

Takes the run's records, split and preprocessed images, and the settings of
its ``--config`` files (default ``config.yaml``; repeat for overlays) with
``--set``'s JSON laid over the ``training`` block; trains with ``--threads``
CPU threads (two screens side by side: 1 each). Prints one row per input
set: threshold, mean [95% interval] Dice, lesion sensitivity and false
positives per patient (all, and of at least ``evaluation.min_fp_volume_mm3``),
and writes the per-patient rows to ``--out``/ablation_rows.tsv. Training is
deterministic: a recipe's result repeats with the same seed and threads on
one machine. ``--model`` scores a trained model instead (the run's own, as
the baseline the screened recipes are compared with), training nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

from recipe import ablation_of, check_scoring_inputs, load_config, retrain, run_split


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, type=Path, help="a finished workflow run, e.g. results/demo")
    ap.add_argument("--out", required=True, type=Path, help="folder for the model and the rows")
    ap.add_argument("--config", action="append", type=Path, help="the run's config files, in order (default: config.yaml)")
    ap.add_argument("--set", default="{}", help="JSON laid over the config's training block")
    ap.add_argument("--validation-run", type=Path, help="a finished run of another phantom seed: score its test patients")
    ap.add_argument("--model", type=Path, help="score this trained model folder instead of training one (--set is then ignored)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    from brainmets.evaluation.ablation_table import ablation_table

    config = load_config(args.config)
    training = {**config["training"], **json.loads(args.set)}
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    # Read the patients to score, and check their files, before training, so
    # a validation run that is not finished stops the screen now rather
    # than after the training.
    if args.validation_run:
        scored, where = run_split(args.validation_run)["test"], f"test patients of {args.validation_run}"
    else:
        scored, where = run_split(args.run)["dev"], "development patients (thresholds chosen on them too)"
    check_scoring_inputs(args.run, scored, args.validation_run, config["preprocessing"]["reference"][0])
    trained = 0.0 if args.model else retrain(args.run, args.out, config, training, config["seed"], args.threads)
    rows = ablation_of(args.run, args.model or args.out, config, scored, args.validation_run)
    rows.to_csv(args.out / "ablation_rows.tsv", sep="\t", index=False)
    table = ablation_table(rows, config["seed"], config["evaluation"]["bootstrap_resamples"])
    columns = ["input set", "patients", "threshold", "dice", "lesion_sensitivity", "fp_components", "fp_components_min_volume"]
    print(f"scored on the {where}")
    print(table[columns].to_string(index=False))
    print(f"training_seconds={trained:.0f} total_seconds={time.perf_counter() - started:.0f}")


if __name__ == "__main__":
    main()
