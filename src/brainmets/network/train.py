"""Training with a checkpoint every epoch and resumption after a kill.

State lives in the ``checkpoints`` folder the caller names: ``epoch-NNN.keras`` (weights
and optimizer state; only the last is kept, or the last
``weight_averaging_epochs`` when the final weights are their average),
``history.csv`` and ``state.json``, written in that order and each
atomically, so a run killed at any moment leaves a consistent last epoch.

A checkpoint is resumed only when everything that feeds training is
unchanged: network, training, preprocessing and record settings, the
split, the seed, the backend, and the SHA-256 of every record shard (so
re-ingested images under the same ids count as new data). Otherwise it is
discarded, and the log says which of these changed. The batches of a
resumed run are those an uninterrupted run would have drawn.

The same code trains under ``KERAS_BACKEND=tensorflow``, ``jax`` or
``torch``, and imports nothing heavier than Keras, NumPy, pandas and the
record reader: batches come from ``loader`` in the records' stored dtype,
and the network trained is ``training_network``: the paper's network behind
a first layer that scales stored values to the network's range on the
device. Checkpoints hold that training network; ``model.keras`` holds the
paper's network alone, which takes float images and loads under any backend.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np
import pandas as pd

from ..niio import atomic_write_text
from . import dataset, loader
from .devices import accelerator_count, cache_compilations, distribution_scope, make_deterministic
from .model import FIRST_LAYER, VoxelDice, WeightedSigmoidCrossEntropy, build_model, compile_model
from .paths import model_files
from .records import check_compatible, full_scale
from .slicebank import SliceBank
from .summaries import EpochSummaries

log = logging.getLogger(__name__)
CUSTOM_OBJECTS = {"WeightedSigmoidCrossEntropy": WeightedSigmoidCrossEntropy, "VoxelDice": VoxelDice}
CARD_VERSION = 1
NETWORK_NAME = "grovik_googlenet"


def training_network(network: keras.Model, image_dtype: str) -> keras.Model:
    """``network`` behind a layer that takes batches in the records' stored
    dtype and scales them as ``records.encode_images`` stored them (uint8
    k -> k/255), on the device: the host never makes float copies."""
    scale = 1.0 / full_scale(image_dtype)
    stored = keras.Input(network.input_shape[1:], dtype=image_dtype, name="stored_slices")
    scaled = keras.layers.Rescaling(scale, name="to_network_range")(stored)
    return keras.Model(stored, network(scaled), name="training_network")


def paper_network(trained: keras.Model) -> keras.Model:
    """The paper's network inside a training network."""
    return trained.get_layer(NETWORK_NAME)


def fingerprint(*parts) -> str:
    """Identity of a training run: what must match for a resume."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


# Training settings that change how, not what, is computed; and the
# starting model, fingerprinted by its weights rather than its folder's name.
# Test-time mirroring changes how the model is used, not what it learns.
HOW_NOT_WHAT = ("validation_every", "run_eagerly", "initial_model", "test_time_mirroring")


def training_settings_fingerprint(settings: dict) -> str:
    """The training settings' part of ``training_inputs``."""
    tied_to_epochs = settings.get("learning_rate_drop_epochs", 0) > 0
    # How often the dev patients are scored, and whether the step runs
    # eagerly or as a traced graph, change what is computed on no weight.
    fed = {k: v for k, v in settings.items() if (k != "epochs" or tied_to_epochs) and k not in HOW_NOT_WHAT}
    # Averaging the last epochs' weights changes the model kept, not the
    # checkpoints: left out when off (0 or 1), so earlier runs' checkpoints resume.
    if settings.get("weight_averaging_epochs", 0) < 2:
        fed.pop("weight_averaging_epochs", None)
    return fingerprint(fed)


def training_inputs(network, settings, preprocessing, context, train_indices, dev_indices, seed, parent_sha256=None) -> dict[str, str]:
    """A fingerprint of each thing that feeds training, by name. The epoch
    count is left out, so asking for more epochs continues a finished run,
    unless a learning-rate drop ties the rates to it. ``parent_sha256``:
    the weights' SHA-256 of the model a fine-tuning starts from."""
    parts = {
        "network settings": fingerprint(network),
        "training settings": training_settings_fingerprint(settings),
        "preprocessing settings": fingerprint(preprocessing),
        "record settings": fingerprint({"context": context}),
        "split": fingerprint(sorted(i["patient_id"] for i in train_indices), sorted(i["patient_id"] for i in dev_indices)),
        "records' content": fingerprint({i["patient_id"]: i["sha256"] for i in train_indices + dev_indices}),
        "seed": fingerprint(seed),
        "backend": fingerprint(keras.backend.backend()),
        # Checkpoints of the network that took float batches are not resumed.
        "training network": fingerprint("stored dtype in, scaled in the first layer"),
    }
    if parent_sha256:
        # Absent when training starts from random weights, as before.
        parts["initial model"] = fingerprint(parent_sha256)
    if settings.get("sequence_dropout"):
        # Dropout once blanked one sequence at a time: such checkpoints are
        # not resumed. Absent without dropout, whose batches did not change.
        parts["sequence dropout"] = fingerprint("any non-empty proper subset")
        if settings.get("sequence_dropout_max_missing") is not None:
            parts["sequence dropout"] = fingerprint("proper subsets of at most", settings["sequence_dropout_max_missing"])
        if settings.get("sequence_dropout_sets"):
            parts["sequence dropout"] = fingerprint("these subsets", settings["sequence_dropout_sets"])
        # Absent for zeros, the fill of older checkpoints.
        if settings.get("sequence_dropout_fill", "zero") != "zero":
            parts["sequence dropout fill"] = fingerprint(settings["sequence_dropout_fill"])
    return parts


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves model + optimizer, the history and the resume state after each
    epoch (keeping the last ``keep`` checkpoints), and reports progress to
    the log."""

    def __init__(self, directory: Path, parts: dict, history: list[dict], epochs: int, steps: int, keep: int = 1):
        super().__init__()
        self.directory, self.parts, self.history = directory, parts, history
        self.epochs, self.steps, self.keep = epochs, steps, max(1, keep)
        self.epoch, self._t0 = 0, time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self._t0 = epoch, time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if (batch + 1) % max(1, self.steps // 4) == 0:
            rate = (batch + 1) / (time.perf_counter() - self._t0)
            loss = float((logs or {}).get("loss", float("nan")))
            log.info("epoch %d/%d step %d/%d loss %.4f (%.2f steps/s)", self.epoch + 1, self.epochs, batch + 1, self.steps, loss, rate)

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._t0
        row = {"epoch": epoch + 1, "seconds": round(seconds, 2), **{k: float(v) for k, v in (logs or {}).items()}}
        self.history.append(row)
        ckpt = self.directory / f"epoch-{epoch + 1:03d}.keras"
        tmp = ckpt.with_name(f".tmp-{ckpt.name}")
        self.model.save(tmp)
        os.replace(tmp, ckpt)
        atomic_write_text(self.directory / "history.csv", pd.DataFrame(self.history).to_csv(index=False))
        state = {"inputs": self.parts, "epoch": epoch + 1, "checkpoint": ckpt.name, "history": self.history}
        atomic_write_text(self.directory / "state.json", json.dumps(state, indent=2))
        for old in self.directory.glob("epoch-*.keras"):
            if int(old.stem.split("-")[1]) <= epoch + 1 - self.keep:
                old.unlink()  # about 70 MB each at full width
        metrics = {k: round(v, 4) for k, v in row.items() if k not in ("epoch", "seconds")}
        log.info("epoch %d/%d done in %.0f s, checkpoint %s: %s", epoch + 1, self.epochs, seconds, ckpt.name, metrics)


def learning_rate_schedule(settings: dict):
    """Epoch -> learning rate: constant, then ``learning_rate_drop_factor``
    times lower for the last ``learning_rate_drop_epochs`` epochs, which
    settles the weights that the last epoch leaves for inference."""
    base, factor = settings["learning_rate"], settings.get("learning_rate_drop_factor", 0.1)
    drop_from = settings["epochs"] - settings.get("learning_rate_drop_epochs", 0)

    def rate(epoch: int) -> float:
        return float(base * factor if epoch >= drop_from else base)

    return rate


def averaged_weights(model: keras.Model, checkpoints: Path, epochs: int, count: int) -> list[str]:
    """Set ``model``'s weights to the mean of the checkpoints of the last
    ``count`` epochs (stochastic weight averaging, Izmailov et al. 2018,
    over the low learning rate's epochs), batch-norm statistics included;
    returns the checkpoints' names. One missing stops training: averaging
    fewer would give a model other than the one asked for."""
    names = [f"epoch-{epoch:03d}.keras" for epoch in range(max(1, epochs - count + 1), epochs + 1)]
    missing = [name for name in names if not (checkpoints / name).exists()]
    if missing:
        raise FileNotFoundError(f"folder {checkpoints}: {', '.join(missing)} missing, so the last {count} epochs cannot be averaged; delete the folder to train again")
    total = None
    for name in names:
        weights = keras.saving.load_model(checkpoints / name, custom_objects=CUSTOM_OBJECTS, compile=False).get_weights()
        total = weights if total is None else [t + w for t, w in zip(total, weights)]
    model.set_weights([(t / len(names)).astype(t.dtype) for t in total])
    log.info("final weights: the mean of %s", ", ".join(names))
    return names


def resume_state(checkpoints: Path, parts: dict) -> dict | None:
    """The last completed epoch of a run with the same inputs, or None (and
    checkpoints of other inputs are removed, with a log line saying why)."""
    state_file = checkpoints / "state.json"
    if state_file.exists():
        state = json.loads(state_file.read_text())
        saved = state.get("inputs", {})
        changed = [name for name in parts if saved.get(name) != parts[name]]
        if not changed and (checkpoints / state["checkpoint"]).exists():
            return state
        why = ", ".join(f"{name} changed" for name in changed) if changed else f"{state.get('checkpoint')} is missing"
        log.warning("discarding the checkpoints in %s (%s): training starts over", checkpoints, why)
    shutil.rmtree(checkpoints, ignore_errors=True)
    checkpoints.mkdir(parents=True)
    return None


def _set_precision(precision: str) -> None:
    if precision != "float32" and accelerator_count() == 0:
        log.warning("precision %s asked for, but no GPU is visible: training in float32", precision)
        precision = "float32"
    keras.mixed_precision.set_global_policy(precision)


SYNTHETIC_WARNING = (
    "trained on the synthetic phantom cohort only: it has never seen a real scan, "
    "and its output on real patients means nothing"
)
TEMPLATE_WARNING = (
    "trained only on synthetic patients drawn from the MNI152 anatomy (phantom.anatomy: mni152): it has never "
    "seen a real scan; its numbers on real scans are development measurements on a few cases (README), so a "
    "reader must check every lesion it reports or misses"
)


def cohort_description(source: str, inputs_preprocessed: bool, lesion_instances: dict | None = None, anatomy: str = "analytic") -> dict:
    """What the card says about the training cohort. ``inputs_preprocessed``:
    the training images came skull-stripped and co-registered (BrainMetShare,
    BraTS), so prediction must not run brain extraction and registration;
    ``lesion_instances``: what counted as one lesion there
    (``lesions.LesionInstances``), which prediction's lesion table repeats;
    ``anatomy``: the phantom's (analytic or mni152)."""
    described = {"source": source, "inputs_preprocessed": bool(inputs_preprocessed)}
    if lesion_instances is not None:
        described["lesion_instances"] = dict(lesion_instances)
    if source == "phantom":
        described["anatomy"] = anatomy
        described["warning"] = TEMPLATE_WARNING if anatomy == "mni152" else SYNTHETIC_WARNING
    return described


def training_sampler(bank: SliceBank, sequences, settings: dict, seed: int, steps: int) -> dataset.BalancedSampler:
    """The paper's balanced batches, with sequence dropout as configured."""
    named = settings.get("sequence_dropout_sets")
    return dataset.BalancedSampler(
        bank, settings["batch_size"], settings["lesion_fraction"], seed, settings["augment"], settings["sequence_dropout"], settings["crop"],
        settings.get("sequence_dropout_max_missing"), settings.get("sequence_dropout_warmup_epochs", 0) * steps,
        dataset.named_dropout_subsets(sequences, named) if named else None, settings.get("sequence_dropout_fill", "zero"),
        settings.get("lesion_draw", "slice"),
    )


class InitialModel(NamedTuple):
    """The model a fine-tuning starts from, loaded once: its network, card and
    ``weights_sha256``."""

    model: keras.Model
    card: dict
    weights_sha256: str


def load_initial_model(folder, first: dict, context: int, network: dict) -> InitialModel:
    """The model a fine-tuning starts from (``training.initial_model``, a
    model folder), after checking that the
    model takes the inputs these records hold: the same context and width,
    and the same sequences in the same order, or some of them where the
    model was trained to do without the rest (its ``accepted_missing``: a
    cohort without a BRAVO fine-tunes a model that takes one)."""
    model, card = load_trained(folder)
    expected = {"context": context, "width": network["width"]}
    differ = [f"{key} {card.get(key)!r} (the records and settings: {value!r})" for key, value in expected.items() if card.get(key) != value]
    given, taken = list(first["sequences"]), list(card["sequences"])
    lacking = [s for s in taken if s not in given]
    if given != taken and not ([s for s in taken if s in given] == given and lacking in card.get("accepted_missing", [])):
        differ.append(f"sequences {taken!r}, of which it was not trained to do without {lacking or 'none'} (the records: {given!r})")
    if differ:
        raise ValueError(f"model folder {folder}: cannot start training from it, its " + "; ".join(differ))
    if lacking:
        log.info("model folder %s takes %s too: its first layer keeps the weights of %s only", folder, ", ".join(lacking), ", ".join(given))
    return InitialModel(model, card, weights_sha256(model))


def weights_sha256(model) -> str:
    """SHA-256 of a model's weights, array by array (shape, dtype, bytes):
    the same weights saved twice differ in their file's bytes (Keras writes
    object ids into its config), not here."""
    digest = hashlib.sha256()
    for weight in model.weights:
        array = np.ascontiguousarray(keras.ops.convert_to_numpy(weight))
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def first_layer_channels(taken: list[str], given: list[str], context: int) -> list[int]:
    """Input channels of a model taking ``taken`` that carry the ``given``
    sequences (channels are sequence-major, 2 x context + 1 per sequence)."""
    depth = 2 * context + 1
    return [taken.index(seq) * depth + k for seq in given for k in range(depth)]


def starting_model(
    checkpoints: Path, state: dict | None, channels: int, image_dtype: str, network: dict, settings: dict, sequences=(),
    initial: InitialModel | None = None,
) -> keras.Model:
    """The checkpoint to resume from, or a new compiled training network:
    with the weights of ``initial`` (``training.initial_model``, fine-tuning)
    when given, else random ones."""
    with distribution_scope() as replicas:
        if state:
            log.info("resuming from %s (epoch %d of %d)", state["checkpoint"], state["epoch"], settings["epochs"])
            return keras.saving.load_model(checkpoints / state["checkpoint"], custom_objects=CUSTOM_OBJECTS)
        model = build_model(channels, network["width"], settings["l2"], bn_momentum=network["bn_momentum"], synchronized_bn=replicas > 1)
        if initial is not None:
            # The same architecture, so the weights map one to one (the
            # optimizer starts afresh), but for the first layer's input
            # channels where the records lack some of the model's sequences.
            keep = first_layer_channels(initial.card["sequences"], list(sequences), initial.card["context"])
            for layer in model.layers:
                weights = initial.model.get_layer(layer.name).get_weights()
                if layer.name == FIRST_LAYER:
                    weights = [weights[0][:, :, keep, :], *weights[1:]]
                layer.set_weights(weights)
        return compile_model(training_network(model, image_dtype), settings)


def fit(model, sampler, dev_bank, settings: dict, initial_epoch: int, steps: int, callbacks) -> None:
    """Train from ``initial_epoch`` to the last, batches made ahead by the loader."""
    started = time.perf_counter()
    batches = loader.training_batches(sampler, initial_epoch * steps)
    try:
        model.fit(
            loader.as_generator(batches),
            epochs=settings["epochs"],
            initial_epoch=initial_epoch,
            steps_per_epoch=steps,
            validation_data=loader.ValidationBatches(dev_bank, settings["batch_size"]) if dev_bank else None,
            validation_freq=settings.get("validation_every", 1),
            callbacks=callbacks,
            shuffle=False,  # the sampler draws at random itself
            verbose=0,
        )
    finally:
        batches.close()
    seconds = time.perf_counter() - started
    log.info("the step waited for data %.1f s of %.1f s (%.1f %%)", batches.waited_seconds, seconds, 100 * batches.waited_seconds / max(seconds, 1e-9))


def model_card(first: dict, context: int, channels: int, preprocessing: dict, cohort, network: dict, settings: dict, sampler, seed: int, run: dict, model) -> dict:
    """``model.json``: what the model takes, how it was trained, on what.
    ``run``: this run's steps per epoch, first epoch, patients, resume
    fingerprints and seconds."""
    return {
        "format_version": CARD_VERSION,
        "sequences": first["sequences"],
        "context": context,
        "channels": channels,
        "inplane_size": first["height"],
        "image_dtype": first["image_dtype"],
        # Everything a new patient's preprocessing must repeat (brainmets-predict).
        "preprocessing": preprocessing,
        "training_cohort": cohort or cohort_description("unknown", False),
        "width": network["width"],
        "sequence_dropout": settings["sequence_dropout"],
        "sequence_dropout_warmup_epochs": settings.get("sequence_dropout_warmup_epochs", 0),
        "sequence_dropout_sets": settings.get("sequence_dropout_sets"),
        # What a missing sequence is given as (dataset.MISSING_FILLS).
        "sequence_dropout_fill": settings.get("sequence_dropout_fill", "zero"),
        # Subsets of ``sequences`` the model may be given without.
        "accepted_missing": [[first["sequences"][i] for i in subset] for subset in dict.fromkeys(sampler.dropout_subsets)] if sampler.sequence_dropout > 0 else [],
        "epochs": settings["epochs"],
        "learning_rate": settings["learning_rate"],
        "learning_rate_drop_epochs": settings.get("learning_rate_drop_epochs", 0),
        "learning_rate_drop_factor": settings.get("learning_rate_drop_factor", 0.1),
        # The checkpoints whose mean the weights are (weight_averaging_epochs).
        "averaged_checkpoints": run.get("averaged", []),
        "steps_per_epoch": run["steps"],
        "batch_size": settings["batch_size"],
        "crop": sampler.crop,
        # In-plane axes whose mirror images inference averages over (training
        # flips both, so the model has learned that symmetry); the operating
        # thresholds are chosen on maps made so.
        "test_time_mirroring": sorted(set(settings.get("test_time_mirroring", []))),
        "lesion_draw": sampler.lesion_draw,
        "resumed_from_epoch": run["initial_epoch"],
        "train_patients": run["train_ids"],
        "dev_patients": run["dev_ids"],
        "seed": seed,
        "fingerprint": fingerprint(run["parts"]),
        "training_inputs": run["parts"],
        "keras_backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "parameters": int(paper_network(model).count_params()),
        "training_seconds_this_run": run["seconds"],
    }


def train_model(
    train_indices: list[dict], dev_indices: list[dict], files: dict, network: dict, settings: dict, preprocessing: dict, seed: int, context: int,
    cohort: dict | None = None,
) -> dict:
    """Train (or resume training) and write the model, its card and history.
    ``files``: where to write ``model``, ``card`` and ``history``, and the
    ``checkpoints`` and ``tensorboard`` folders (the caller's names, e.g. a
    rule's outputs, or ``model_files`` of a model folder);
    ``cohort``: ``cohort_description`` of the training data, kept in the card."""
    paths = {key: Path(files[key]) for key in ("model", "card", "history", "checkpoints", "tensorboard")}
    first = check_compatible(train_indices + dev_indices)
    train_ids = sorted(i["patient_id"] for i in train_indices)
    dev_ids = sorted(i["patient_id"] for i in dev_indices)
    initial = load_initial_model(settings["initial_model"], first, context, network) if settings.get("initial_model") else None
    parts = training_inputs(network, settings, preprocessing, context, train_indices, dev_indices, seed, initial and initial.weights_sha256)
    _set_precision(settings["precision"])
    keras.utils.set_random_seed(seed)
    if settings["deterministic"]:
        make_deterministic()
    cache_compilations()
    state = resume_state(paths["checkpoints"], parts)
    train_bank = SliceBank(train_indices, context)
    dev_bank = SliceBank(dev_indices, context) if dev_indices else None
    steps = settings["steps_per_epoch"] or dataset.steps_per_epoch(len(train_bank.centres), settings["batch_size"])
    sampler = training_sampler(train_bank, first["sequences"], settings, seed, steps)
    if initial:
        log.info("fine-tuning %s (trained on: %s)", settings["initial_model"], initial.card["training_cohort"]["source"])
    model = starting_model(paths["checkpoints"], state, train_bank.channels, first["image_dtype"], network, settings, first["sequences"], initial)
    initial_epoch = state["epoch"] if state else 0
    history = state["history"] if state else []
    log.info(
        "training on %d patients (%d slices, %d with lesions), validating on %d; %d steps of %d per epoch, %s backend, %d accelerator(s)",
        len(train_ids), len(train_bank.centres), len(train_bank.lesion_centres), len(dev_ids),
        steps, settings["batch_size"], keras.backend.backend(), accelerator_count(),
    )
    averaging = settings.get("weight_averaging_epochs", 0)
    # The scheduler first: it adds the epoch's rate to the logs the checkpoint records.
    callbacks = [
        keras.callbacks.LearningRateScheduler(learning_rate_schedule(settings)),
        EpochCheckpoint(paths["checkpoints"], parts, history, settings["epochs"], steps, averaging),
        EpochSummaries(paths["tensorboard"]),
    ]
    started = time.perf_counter()
    if initial_epoch < settings["epochs"]:
        fit(model, sampler, dev_bank, settings, initial_epoch, steps, callbacks)
    # The last epoch trained: a finished run asked for fewer epochs keeps its own.
    last_epoch = max(initial_epoch, settings["epochs"])
    averaged = averaged_weights(model, paths["checkpoints"], last_epoch, averaging) if averaging > 1 else []
    tmp = paths["model"].with_name(f".tmp-{paths['model'].name}")
    paper_network(model).save(tmp)
    os.replace(tmp, paths["model"])
    atomic_write_text(paths["history"], pd.DataFrame(history).to_csv(index=False))
    run = {
        "steps": steps, "initial_epoch": initial_epoch, "train_ids": train_ids, "dev_ids": dev_ids, "parts": parts,
        "seconds": round(time.perf_counter() - started, 1), "averaged": averaged,
    }
    card = model_card(first, context, train_bank.channels, preprocessing, cohort, network, settings, sampler, seed, run, model)
    if initial is not None:
        card["started_from"] = started_from(settings["initial_model"], initial.weights_sha256, initial.card)
    atomic_write_text(paths["card"], json.dumps(card, indent=2))
    if "warning" in card["training_cohort"]:
        log.warning("model %s: %s", paths["model"], card["training_cohort"]["warning"])
    return card


def started_from(folder, sha256: str, parent_card: dict) -> dict:
    """What the card of a fine-tuned model says about the model it started
    from: where it was, its weights' SHA-256, and what it was trained on."""
    return {
        "model_folder": str(folder),
        "sha256": sha256,
        "fingerprint": parent_card.get("fingerprint"),
        "training_cohort": parent_card["training_cohort"],
        "started_from": parent_card.get("started_from"),
    }


def load_trained(model_path, card_path=None):
    """The trained model and its card: ``model_path`` is the network file
    and ``card_path`` its card, or ``model_path`` a model folder
    (``model_files``) when ``card_path`` is not given."""
    if card_path is None:
        folder = model_files(model_path)
        model_path, card_path = folder["model"], folder["card"]
    paths = {"model": Path(model_path), "card": Path(card_path)}
    for key in ("model", "card"):
        if not paths[key].exists():
            raise FileNotFoundError(f"file {paths[key]}: missing; is this a trained model?")
    card = json.loads(paths["card"].read_text())
    if card.get("format_version") != CARD_VERSION:
        raise ValueError(f"file {paths['card']}: model card version {card.get('format_version')} is not {CARD_VERSION}")
    model = keras.saving.load_model(paths["model"], custom_objects=CUSTOM_OBJECTS, compile=False)
    if model.input_shape[-1] != card["channels"]:
        raise ValueError(f"file {paths['model']}: the network takes {model.input_shape[-1]} channels, its card says {card['channels']}")
    return model, card
