"""Training (``network.train``): the same seed gives the same weights, the
model card, resumption only from identical inputs."""

import json
import logging
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest

from brainmets.network.paths import model_files
from brainmets.network.train import train_model

from tests.tiny_network import NETWORK, PREPROCESSING, SETTINGS, weights, write_records

# Each test trains a network (half a minute or more): the full tier only.
pytestmark = pytest.mark.slow


def test_same_seed_same_weights(trained):
    # (Other seeds give other batches: test_records.test_same_seed_same_batches.)
    np.testing.assert_array_equal(weights(trained / "a"), weights(trained / "b"))


def test_model_card(trained):
    card = json.loads((trained / "a" / "model.json").read_text())
    assert card["channels"] == 28 and card["inplane_size"] == 32 and card["context"] == 3
    assert card["train_patients"] == ["r0", "r1"] and card["dev_patients"] == ["r2"]
    assert card["sequence_dropout"] == 0.25 and card["preprocessing"]["normalization"] == "histogram_equalization"
    # Dropout over any non-empty proper subset: the card lists them all.
    assert card["sequences"] == ["T1pre", "T1gd", "BRAVO", "FLAIR"] and len(card["accepted_missing"]) == 14
    assert card["lesion_draw"] == "slice"  # the paper's, unless set
    assert card["test_time_mirroring"] == []


def test_test_time_mirroring_is_recorded_but_resumes_the_same_training(records):
    from brainmets.network.train import training_inputs

    indices = [r[1] for r in records]
    parts = [training_inputs(NETWORK, {**SETTINGS, "test_time_mirroring": axes}, PREPROCESSING, 3, indices[:2], indices[2:], 7) for axes in ([], [0, 1])]
    assert parts[0] == parts[1]


def test_resumes_only_from_identical_inputs(records, tmp_path, caplog):
    indices = [r[1] for r in records]
    folder = tmp_path / "model"
    settings = {**SETTINGS, "sequence_dropout": 0.0}
    train_model(indices[:2], indices[2:], model_files(folder), NETWORK, settings, PREPROCESSING, 7, context=3)
    caplog.set_level(logging.INFO, logger="brainmets.network.train")
    # Same inputs, one more epoch: continues from the checkpoint.
    card = train_model(indices[:2], indices[2:], model_files(folder), NETWORK, {**settings, "epochs": 2}, PREPROCESSING, 7, context=3)
    assert card["resumed_from_epoch"] == 1 and "resuming from epoch-001.keras" in caplog.text
    assert sorted(p.name for p in (folder / "checkpoints").glob("*.keras")) == ["epoch-002.keras"]  # older ones pruned
    # Scoring the dev patients less often changes no weight: still a continuation,
    # whose third epoch has no dev metrics.
    card = train_model(indices[:2], indices[2:], model_files(folder), NETWORK, {**settings, "epochs": 3, "validation_every": 2}, PREPROCESSING, 7, context=3)
    history = pd.read_csv(folder / "history.csv")
    assert card["resumed_from_epoch"] == 2 and list(history.epoch) == [1, 2, 3]
    assert history.val_loss.notna().tolist() == [True, True, False]
    # Another normalization: the checkpoint is stale, training starts over and says why.
    caplog.clear()
    card = train_model(indices[:2], indices[2:], model_files(folder), NETWORK, {**settings, "epochs": 2}, {"normalization": "zscore"}, 7, context=3)
    assert card["resumed_from_epoch"] == 0 and card["preprocessing"]["normalization"] == "zscore"
    assert "discarding the checkpoints" in caplog.text and "preprocessing settings changed" in caplog.text
    # New images under the same patient id: the records' digest tells.
    caplog.clear()
    fresh = tmp_path / "reingested"
    shutil.copytree(records[0][0]["T1pre"].parent, fresh)
    _, changed = write_records(fresh, "r0", seed=99)
    assert changed["sha256"] != indices[0]["sha256"]
    card = train_model([changed, indices[1]], indices[2:], model_files(folder), NETWORK, {**settings, "epochs": 2}, {"normalization": "zscore"}, 7, context=3)
    assert card["resumed_from_epoch"] == 0 and "records' content changed" in caplog.text


def test_card_says_when_the_model_saw_only_synthetic_data(records, tmp_path):
    from brainmets.network.train import cohort_description

    indices = [r[1] for r in records]
    settings = {**SETTINGS, "sequence_dropout": 0.0}
    card = train_model(indices[:2], indices[2:], model_files(tmp_path / "m"), NETWORK, settings, PREPROCESSING, 7, 3, cohort_description("phantom", False))
    assert "never seen a real scan" in card["training_cohort"]["warning"]
    assert card["accepted_missing"] == []  # trained without sequence dropout
    assert card["training_cohort"] == json.loads((tmp_path / "m" / "model.json").read_text())["training_cohort"]
    assert "warning" not in cohort_description("brainmetshare", True)
    assert cohort_description("brainmetshare", True)["inputs_preprocessed"] is True
    counted = cohort_description("brats", True, {"connectivity": 26, "join_mm": 6.0, "min_volume_mm3": 10.0})
    assert counted["lesion_instances"] == {"connectivity": 26, "join_mm": 6.0, "min_volume_mm3": 10.0}
    assert "lesion_instances" not in cohort_description("phantom", False)
    # Real anatomy, synthetic contrast: still never a real scan, said so.
    drawn = cohort_description("phantom", False, anatomy="mni152")
    assert drawn["anatomy"] == "mni152" and "never seen a real scan" in drawn["warning"] and "MNI152" in drawn["warning"]


def trainable(folder):
    from brainmets.network.train import load_trained

    model, _ = load_trained(folder)
    return np.concatenate([w.numpy().ravel() for w in model.trainable_weights])


def test_fine_tuning_starts_from_the_given_model(records, trained, tmp_path, caplog):
    from brainmets.network.train import load_trained, weights_sha256

    indices = [r[1] for r in records]
    parent = trained / "a"
    # At learning rate 0 the weights stay the parent's: they were loaded, not drawn.
    still = {**SETTINGS, "learning_rate": 0.0, "initial_model": str(parent)}
    card = train_model(indices[:2], indices[2:], model_files(tmp_path / "still"), NETWORK, still, PREPROCESSING, 8, context=3)
    np.testing.assert_array_equal(trainable(tmp_path / "still"), trainable(parent))
    assert card["started_from"]["sha256"] == weights_sha256(load_trained(parent)[0])
    assert card["started_from"]["model_folder"] == str(parent) and card["started_from"]["fingerprint"] == json.loads((parent / "model.json").read_text())["fingerprint"]
    assert "initial model" in card["training_inputs"]
    # Trained on: the fine-tuning's cohort, and under started_from the parent's.
    assert card["started_from"]["training_cohort"] == json.loads((parent / "model.json").read_text())["training_cohort"]
    # Another starting model: the checkpoint is stale, and the log says why.
    caplog.set_level(logging.INFO, logger="brainmets.network.train")
    shutil.copytree(tmp_path / "still", tmp_path / "another", ignore=shutil.ignore_patterns("checkpoints"))
    card = train_model(indices[:2], indices[2:], model_files(tmp_path / "still"), NETWORK, {**still, "initial_model": str(tmp_path / "another"), "epochs": 2}, PREPROCESSING, 8, context=3)
    assert card["resumed_from_epoch"] == 0 and "initial model changed" in caplog.text
    # The same weights in another file (its archive rewritten with the other
    # compression, as a re-save or a copy tool may): the finished fine-tuning resumes.
    resaved = tmp_path / "resaved"
    shutil.copytree(tmp_path / "another", resaved, ignore=shutil.ignore_patterns("model.keras"))
    with zipfile.ZipFile(tmp_path / "another" / "model.keras") as original:
        other = zipfile.ZIP_STORED if original.infolist()[0].compress_type != zipfile.ZIP_STORED else zipfile.ZIP_DEFLATED
        with zipfile.ZipFile(resaved / "model.keras", "w", other) as rewritten:
            for member in original.infolist():
                rewritten.writestr(member.filename, original.read(member))
    assert (resaved / "model.keras").read_bytes() != (tmp_path / "another" / "model.keras").read_bytes()
    assert weights_sha256(load_trained(resaved)[0]) == weights_sha256(load_trained(tmp_path / "another")[0])
    card = train_model(indices[:2], indices[2:], model_files(tmp_path / "still"), NETWORK, {**still, "initial_model": str(resaved), "epochs": 2}, PREPROCESSING, 8, context=3)
    assert card["resumed_from_epoch"] == 2


def test_fine_tuning_on_fewer_sequences_keeps_their_first_layer_weights(records, trained, tmp_path):
    """A cohort without a BRAVO (BraTS) fine-tunes a model that takes one
    and was trained to do without it: the first layer keeps the weights of
    the records' sequences, every other layer all of its own."""
    from brainmets.layout import record_files
    from brainmets.network.records import read_index, write_patient_records
    from brainmets.network.train import load_trained

    given = ["T1pre", "T1gd", "FLAIR"]
    indices = []
    for files, index in records:
        out = record_files(tmp_path / "records", index["patient_id"])
        write_patient_records(index["patient_id"], {s: files[s] for s in given}, files["brain_mask"], files["lesions"], out, "histogram_equalization")
        indices.append(read_index(out["index"]))
    parent = trained / "a"
    still = {**SETTINGS, "learning_rate": 0.0, "sequence_dropout": 0.0, "initial_model": str(parent)}
    card = train_model(indices[:2], indices[2:], model_files(tmp_path / "m"), NETWORK, still, PREPROCESSING, 8, context=3)
    assert card["sequences"] == given and card["channels"] == 21
    child, _ = load_trained(tmp_path / "m")
    mother, _ = load_trained(parent)
    first = child.get_layer("conv1_7x7").get_weights()[0]
    np.testing.assert_array_equal(first, np.delete(mother.get_layer("conv1_7x7").get_weights()[0], np.s_[14:21], axis=2))
    np.testing.assert_array_equal(child.get_layer("logits").get_weights()[0], mother.get_layer("logits").get_weights()[0])
    # A model never trained without the BRAVO cannot start a cohort lacking it.
    narrow = tmp_path / "narrow"
    train_model([r[1] for r in records[:2]], [records[2][1]], model_files(narrow), NETWORK, {**SETTINGS, "sequence_dropout_sets": [["FLAIR"]]}, PREPROCESSING, 8, context=3)
    with pytest.raises(ValueError, match=r"not trained to do without \['BRAVO'\]"):
        train_model(indices[:2], indices[2:], model_files(tmp_path / "n"), NETWORK, {**still, "initial_model": str(narrow)}, PREPROCESSING, 8, context=3)


def test_fine_tuning_refuses_a_model_of_other_inputs(records, trained, tmp_path):
    indices = [r[1] for r in records]
    wider = {**NETWORK, "width": 0.125}
    with pytest.raises(ValueError, match=r"model folder .*a: cannot start training from it, its width 0.0625"):
        train_model(indices[:2], indices[2:], model_files(tmp_path / "m"), wider, {**SETTINGS, "initial_model": str(trained / "a")}, PREPROCESSING, 8, context=3)
    assert not (tmp_path / "m" / "model.keras").exists()


def test_weight_averaging_keeps_the_mean_of_the_last_epochs(records, tmp_path, caplog):
    import keras

    from brainmets.network.train import CUSTOM_OBJECTS, NETWORK_NAME, training_inputs

    indices = [r[1] for r in records]
    folder = tmp_path / "averaged"
    settings = {**SETTINGS, "epochs": 3, "weight_averaging_epochs": 2}
    caplog.set_level(logging.INFO, logger="brainmets.network.train")
    card = train_model(indices[:2], indices[2:], model_files(folder), NETWORK, settings, PREPROCESSING, 7, context=3)
    kept = sorted(p.name for p in (folder / "checkpoints").glob("*.keras"))
    assert kept == ["epoch-002.keras", "epoch-003.keras"] == card["averaged_checkpoints"]
    assert "final weights: the mean of epoch-002.keras, epoch-003.keras" in caplog.text

    def checkpoint(name):
        trained = keras.saving.load_model(folder / "checkpoints" / name, custom_objects=CUSTOM_OBJECTS, compile=False)
        return np.concatenate([w.ravel() for w in trained.get_layer(NETWORK_NAME).get_weights()])

    last, before = checkpoint("epoch-003.keras"), checkpoint("epoch-002.keras")
    assert not np.array_equal(last, before)
    np.testing.assert_allclose(weights(folder), (last + before) / 2, rtol=1e-6, atol=1e-7)
    # The same trajectory as without averaging: only the model kept differs,
    # and the resume fingerprint of a run without it is unchanged.
    plain = tmp_path / "plain"
    train_model(indices[:2], indices[2:], model_files(plain), NETWORK, {**settings, "weight_averaging_epochs": 0}, PREPROCESSING, 7, context=3)
    np.testing.assert_array_equal(weights(plain), last)
    parts = [training_inputs(NETWORK, {**SETTINGS, **extra}, PREPROCESSING, 3, indices[:2], indices[2:], 7) for extra in ({}, {"weight_averaging_epochs": 0}, {"weight_averaging_epochs": 1})]
    assert parts[0] == parts[1] == parts[2]
    # A kept checkpoint gone: no quiet average of fewer epochs.
    (folder / "checkpoints" / "epoch-002.keras").unlink()
    with pytest.raises(FileNotFoundError, match="epoch-002.keras missing"):
        train_model(indices[:2], indices[2:], model_files(folder), NETWORK, settings, PREPROCESSING, 7, context=3)
