"""Retrain a finished run's main model with another recipe or seed, and
score a set of its patients with the sequence ablation: the shared part of
``dropout_recipe.py`` (which ranks recipes, on development patients only)
and ``seed_spread.py`` (which reports one recipe's spread over seeds, on
the test patients). Not a script: imported by those two."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import yaml

os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def merged(base: dict, overlay: dict) -> dict:
    """``overlay`` laid over ``base``, block by block (as Snakemake merges
    its config files)."""
    out = dict(base)
    for key, value in overlay.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_config(paths: list[Path] | None) -> dict:
    config = {}
    for path in paths or [Path("config.yaml")]:
        config = merged(config, yaml.safe_load(Path(path).read_text()))
    return config


def run_split(run: Path) -> dict:
    """The main model's split of a finished run: train, dev, test ids."""
    return json.loads((run / "records" / "splits.json").read_text())["models"]["main"]


def check_scoring_inputs(run: Path, scored: list[str], scored_run: Path | None = None, reference: str = "BRAVO") -> None:
    """Stop, before any training, when a preprocessed file that scoring
    reads is missing: the run's development patients and the ``scored``
    patients of ``scored_run`` (default ``run``), on the ``reference`` grid
    (the config's ``preprocessing.reference``, first entry)."""
    from brainmets.layout import PreprocessingFiles

    wanted = [(run, pid) for pid in run_split(run)["dev"]] + [(scored_run or run, pid) for pid in scored]
    missing = []
    for root, pid in wanted:
        files = PreprocessingFiles.bids(root / "preproc", root / "qc", pid, reference)
        needed = [*files.normalization.images.values(), files.normalization.brain_mask, files.lesions]
        missing += [f"patient {pid}: {path}" for path in needed if not Path(path).exists()]
    if missing:
        raise SystemExit("unfinished run, rerun its workflow first; missing:\n  " + "\n  ".join(missing))


def retrain(run: Path, out: Path, config: dict, training: dict, seed: int, threads: int) -> float:
    """Train the run's main model on its records with ``training`` and
    ``seed``; returns the seconds it took."""
    from brainmets.network.devices import configure_gpus, limit_cpu_threads
    from brainmets.network.paths import model_files
    from brainmets.network.records import read_index
    from brainmets.network.train import cohort_description, train_model

    split = run_split(run)
    configure_gpus(0, True, "training")
    limit_cpu_threads(threads)
    started = time.perf_counter()
    index = {pid: read_index(run / "records" / f"sub-{pid}_slices.json") for pid in split["train"] + split["dev"]}
    train_model(
        [index[p] for p in split["train"]], [index[p] for p in split["dev"]], model_files(out), config["network"], training,
        config["preprocessing"], seed, config["records"]["context"], cohort_description("phantom", False),
    )
    return time.perf_counter() - started


def ablation_of(run: Path, model_dir: Path, config: dict, scored: list[str], scored_run: Path | None = None):
    """Each input set's operating point chosen on ``run``'s development
    patients, then the ablation rows of ``scored`` (patient ids of
    ``scored_run``, default ``run``). The sets without BRAVO are chosen and
    scored on the T1gd-referenced preprocessing of a patient where the run
    made one (as the workflow's ablation does), else on the BRAVO grid with
    the missing sequences blanked."""
    from brainmets.evaluation.ablation import ablation_rows
    from brainmets.evaluation.input_set_points import dev_input_set_points
    from brainmets.evaluation.metrics import EvaluationSettings
    from brainmets.evaluation.threshold import DevCurve, choose_operating_point
    from brainmets.layout import PreprocessingFiles
    from brainmets.network.inference import load_preprocessed, predict_volume
    from brainmets.network.train import load_trained
    from brainmets.niio import load_nifti
    from brainmets.slices import from_slices_last

    model, card = load_trained(model_dir)
    reference = card["preprocessing"].get("reference", ["BRAVO"])[0]

    def files(root: Path, pid: str, grid: str = reference) -> dict:
        preprocessed = PreprocessingFiles.bids(root / "preproc", root / "qc", pid, grid)
        normalized = preprocessed.normalization
        return {
            "images": {s: normalized.images[s] for s in card["sequences"] if s != reference or grid == reference},
            "brain_mask": normalized.brain_mask,
            "lesions": preprocessed.lesions,
        }

    def on_t1gd(root: Path, pids: list[str]) -> dict:
        return {"T1gd": {pid: files(root, pid, "T1gd") for pid in pids if files(root, pid, "T1gd")["brain_mask"].exists()}}

    scored_run = scored_run or run
    dev = run_split(run)["dev"]
    settings = EvaluationSettings.from_config(config)
    margin, batch = config["inference"]["window_margin"], config["inference"]["batch_size"]
    choice, froc = config["evaluation"]["operating_point"], config["evaluation"]["froc_max_false_positives"]
    complete = DevCurve(settings)
    for pid in dev:
        f = files(run, pid)
        volumes, mask, affine, _ = load_preprocessed(card, f["images"], f["brain_mask"])
        prob = predict_volume(model, card, volumes, mask, batch, [], margin)
        complete.add(pid, from_slices_last(prob, affine), load_nifti(f["lesions"], np.uint8)[0] > 0, from_slices_last(mask, affine) > 0, affine)
    points = dev_input_set_points(model, card, {pid: files(run, pid) for pid in dev}, choice, froc, settings, batch, margin, on_t1gd(run, dev))
    thresholds = {"all given": choose_operating_point(*complete.result(), choice, froc, what="all given")["operating_threshold"]}
    thresholds.update({label: point["operating_threshold"] for label, point in points.items()})
    scoring = EvaluationSettings.from_config(config, threshold=thresholds["all given"])
    return ablation_rows(model, card, {pid: files(scored_run, pid) for pid in scored}, scoring, batch, margin, thresholds, on_t1gd(scored_run, scored))


def check_recipe(folder: Path, config: dict, training: dict) -> None:
    """Stop when the model in ``folder`` was trained with other network or
    training settings, or another epoch count, than ``config`` with
    ``training``: reusing it would report another recipe. (Settings are
    compared as this script passes them to training, so a model that the
    workflow trained, with the schema's defaults filled in, is not taken.)"""
    from brainmets.network.paths import model_files
    from brainmets.network.train import fingerprint, training_settings_fingerprint

    card = json.loads(model_files(folder)["card"].read_text())
    saved = card["training_inputs"]
    if (
        saved["training settings"] != training_settings_fingerprint(training)
        or saved["network settings"] != fingerprint(config["network"])
        or card["epochs"] != training["epochs"]
    ):
        raise SystemExit(f"folder {folder}: its model was trained with other training settings than these; use another --out, or --fresh")


def last_epoch_model(folder: Path) -> Path:
    """A model folder (``folder``/last-epoch) holding the last epoch's
    checkpoint of the model trained in ``folder``: the model that training
    would have kept without weight averaging, whose trajectory is the same."""
    import keras

    from brainmets.network.paths import model_files
    from brainmets.network.train import CUSTOM_OBJECTS, paper_network
    from brainmets.niio import atomic_write_text

    files, out = model_files(folder), model_files(folder / "last-epoch")
    card = json.loads(files["card"].read_text())
    last = json.loads((files["checkpoints"] / "state.json").read_text())["checkpoint"]
    if out["card"].exists() and json.loads(out["card"].read_text()).get("last_epoch_of") == [str(folder), card["fingerprint"], last]:
        return out["model"].parent
    trained = keras.saving.load_model(files["checkpoints"] / last, custom_objects=CUSTOM_OBJECTS, compile=False)
    out["model"].parent.mkdir(parents=True, exist_ok=True)
    out["card"].unlink(missing_ok=True)  # the card last: a folder without one is rebuilt
    tmp = out["model"].with_name(f".tmp-{out['model'].name}")
    paper_network(trained).save(tmp)
    os.replace(tmp, out["model"])
    atomic_write_text(out["card"], json.dumps({**card, "averaged_checkpoints": [], "last_epoch_of": [str(folder), card["fingerprint"], last]}, indent=2))
    return out["model"].parent
