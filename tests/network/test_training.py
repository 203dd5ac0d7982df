"""Training reproducibility, resumption only from identical inputs, and
inference with a missing sequence."""

import json
import logging
import shutil

import keras
import numpy as np
import pandas as pd
import pytest

from brainmets.network.inference import check_inputs, predict_volume
from brainmets.network.paths import model_files
from brainmets.network.train import load_trained, train_model

from .conftest import write_records

# Each test trains a network (half a minute or more): the full tier only.
pytestmark = pytest.mark.slow

SETTINGS = dict(
    epochs=1, steps_per_epoch=3, batch_size=4, lesion_fraction=0.5, positive_weight=10.0, learning_rate=1e-3,
    beta_1=0.9, beta_2=0.999, l2=1e-5, augment=True, sequence_dropout=0.25, crop=None, precision="float32", gpus=0, deterministic=True,
    run_eagerly=True,  # a few steps: tracing a graph would take longer than training
)


NETWORK = {"width": 0.0625, "bn_momentum": 0.9}
PREPROCESSING = {"normalization": "histogram_equalization"}


def weights(folder):
    model, _ = load_trained(folder)
    return np.concatenate([w.ravel() for w in model.get_weights()])


@pytest.fixture(scope="module")
def trained(records, tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    indices = [r[1] for r in records]
    for name, seed in (("a", 7), ("b", 7)):
        train_model(indices[:2], indices[2:], model_files(root / name), NETWORK, SETTINGS, PREPROCESSING, seed, context=3)
    return root


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


def test_missing_sequence_needs_a_dropout_model(trained):
    model, card = load_trained(trained / "a")
    rng = np.random.default_rng(0)
    mask = np.zeros((32, 32, 6), np.uint8)
    mask[4:28, 4:28, 1:5] = 1
    volumes = {seq: rng.random((32, 32, 6)).astype(np.float32) * mask for seq in ("T1pre", "T1gd", "BRAVO")}
    prob = predict_volume(model, card, volumes, mask, batch_size=4, missing=["FLAIR"])
    assert prob.shape == mask.shape and np.all(prob[mask == 0] == 0) and 0 <= prob.min() and prob.max() <= 1
    with pytest.raises(ValueError, match="trained without sequence dropout"):
        check_inputs({**card, "sequence_dropout": 0.0}, mask.shape, ["FLAIR"], "test")
    with pytest.raises(ValueError, match="in-plane size 48x48, the model was trained on 32x32"):
        check_inputs(card, (48, 48, 6), [], "test")


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


def test_brain_window_is_on_the_stride_grid_and_holds_the_brain():
    from brainmets.network.inference import brain_window

    mask = np.zeros((64, 48, 5), np.uint8)
    mask[13:30, 9:20, 2] = 1
    rows, cols = brain_window(mask, margin=5)
    assert rows.start % 4 == 0 and cols.start % 4 == 0 and (rows.stop - rows.start) % 4 == 0 and (cols.stop - cols.start) % 4 == 0
    assert rows.start <= 13 - 5 and rows.stop >= 30 + 5 and cols.start <= 9 - 5 and cols.stop >= 20 + 5
    assert brain_window(mask, None) == (slice(0, 64), slice(0, 48))
    full = np.ones((64, 48, 2), np.uint8)
    assert brain_window(full, 8) == (slice(0, 64), slice(0, 48))  # clipped to the frame


def test_windowed_inference_matches_whole_frame_inside_the_brain(trained):
    model, card = load_trained(trained / "a")
    rng = np.random.default_rng(1)
    mask = np.zeros((32, 32, 6), np.uint8)
    mask[10:22, 8:20, 1:5] = 1
    volumes = {seq: rng.random((32, 32, 6)).astype(np.float32) * mask for seq in card["sequences"]}
    full = predict_volume(model, card, volumes, mask, batch_size=4)
    windowed = predict_volume(model, card, volumes, mask, batch_size=4, margin=8)
    assert np.abs(full - windowed)[mask > 0].max() < 0.05
    assert np.all(windowed[mask == 0] == 0)


def test_one_loaded_model_predicts_many_patients(trained, records, tmp_path):
    from brainmets.network.inference import predict_patients
    from brainmets.niio import load_nifti

    model, card = load_trained(trained / "a")
    patients = {
        f"p{i}": {"images": {seq: files[seq] for seq in card["sequences"]}, "brain_mask": files["brain_mask"]}
        for i, (files, _) in enumerate(records[:2])
    }
    outputs = {pid: {"probability": tmp_path / "maps" / f"{pid}.nii.gz", "report": tmp_path / "reports" / f"{pid}.json"} for pid in patients}
    reports = predict_patients(model, card, patients, outputs, batch_size=4, margin=8)
    assert [r["patient_id"] for r in reports] == ["p0", "p1"] and all(r["window_margin"] == 8 for r in reports)
    for pid, patient in patients.items():
        paths = outputs[pid]
        prob, affine = load_nifti(paths["probability"])
        mask, mask_affine = load_nifti(patient["brain_mask"])
        assert prob.shape == mask.shape and np.allclose(affine, mask_affine) and np.all(prob[mask == 0] == 0)
        assert json.loads(paths["report"].read_text())["patient_id"] == pid


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


def test_sequence_ablation_rows_and_table(trained, records, tmp_path):
    from brainmets.evaluation.ablation import ablation_rows, check_ablation_model
    from brainmets.evaluation.ablation_table import ablation_markdown, ablation_table
    from brainmets.input_sets import INPUT_SETS, input_sets
    from brainmets.evaluation.metrics import EvaluationSettings

    model, card = load_trained(trained / "a")  # trained with sequence dropout
    check_ablation_model(card, "a")
    patients = {
        f"p{i}": {"images": {seq: files[seq] for seq in card["sequences"]}, "brain_mask": files["brain_mask"], "lesions": files["lesions"]}
        for i, (files, _) in enumerate(records[:2])
    }
    thresholds = {"without BRAVO": 0.3, "without FLAIR": 0.7}  # the others: settings.threshold
    rows = ablation_rows(model, card, patients, EvaluationSettings(threshold=0.5), batch_size=4, margin=8, thresholds=thresholds)
    assert len(rows) == 2 * len(INPUT_SETS) and set(rows.input_set) == set(INPUT_SETS)
    assert rows.groupby("input_set").threshold.first().to_dict() == {label: thresholds.get(label, 0.5) for label in INPUT_SETS}
    # Leaving sequences out changes what the network sees.
    p0 = rows[rows.patient_id == "p0"].set_index("input_set")
    assert p0.loc["all given", "auc"] != p0.loc["without BRAVO and T1gd", "auc"]
    assert set(rows.grid) == {"BRAVO"}  # no other grid given
    # The sets without the BRAVO on another grid where given: here the same
    # files without the BRAVO, so the same results on a grid named T1gd.
    on_t1gd = {pid: {**files, "images": {s: f for s, f in files["images"].items() if s != "BRAVO"}} for pid, files in patients.items()}
    moved = ablation_rows(model, card, patients, EvaluationSettings(threshold=0.5), batch_size=4, margin=8, thresholds=thresholds, on_grid={"T1gd": on_t1gd})
    assert moved.groupby("input_set").grid.first().to_dict() == {
        label: "T1gd" if label in ("without BRAVO",) else "BRAVO" for label in INPUT_SETS
    }
    assert moved.drop(columns="grid").equals(rows.drop(columns="grid"))
    table = ablation_table(moved, seed=1, resamples=200)
    assert list(table["input set"]) == list(INPUT_SETS) and (table.patients == 2).all()
    assert table.set_index("input set").loc["without BRAVO", "grid"] == "T1gd"
    assert table.set_index("input set").loc["without BRAVO", "threshold"] == "0.300"
    assert "0.795" in ablation_markdown(table, 10.0)
    with pytest.raises(ValueError, match="model plain: the ablation leaves out T1pre, but the model was trained without sequence dropout"):
        check_ablation_model({**card, "sequence_dropout": 0.0}, "plain")
    # A model without BRAVO (BraTS) is ablated over its own sequences only.
    sets = input_sets(["T1pre", "T1gd", "FLAIR"])
    assert "without BRAVO" not in sets and "without BRAVO and T1gd" not in sets and "without T1gd" in sets
    assert list(input_sets(["T1gd"])) == ["all given"]


def test_operating_points_per_input_set_on_the_dev_patients(trained, records):
    from brainmets.evaluation.input_set_points import dev_input_set_points
    from brainmets.input_sets import INPUT_SETS
    from brainmets.evaluation.metrics import EvaluationSettings

    model, card = load_trained(trained / "a")
    dev = {
        f"d{i}": {"images": {seq: files[seq] for seq in card["sequences"]}, "brain_mask": files["brain_mask"], "lesions": files["lesions"]}
        for i, (files, _) in enumerate(records[:2])
    }
    points = dev_input_set_points(model, card, dev, "dice", 8.3, EvaluationSettings(), batch_size=4, margin=8)
    assert set(points) == set(INPUT_SETS) - {"all given"}
    for label, point in points.items():
        assert point["left_out"] == list(INPUT_SETS[label]) and 0 <= point["operating_threshold"] <= 1
        assert point["operating_point"] == "dice" and set(point["dev_patients"]) == {"d0", "d1"}
    # Each set's curve is its own: the network saw other inputs.
    curves = {label: [row["dice"] for row in point["dev_curve"]] for label, point in points.items()}
    assert curves["without BRAVO"] != curves["without BRAVO and T1gd"]
