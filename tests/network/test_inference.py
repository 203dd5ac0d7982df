"""Inference (``network.inference``): the brain window and whole-volume
prediction with a stand-in for the network; with a trained one, missing
sequences, the window against the whole frame, many patients per load."""

import json

import numpy as np
import pytest

from brainmets.network.inference import brain_window, check_inputs, mirror_images, predict_volume
from brainmets.network.train import load_trained
from brainmets.network.model import DOWNSAMPLING


def test_inference_settings_from_the_config_block():
    from brainmets.network.inference import InferenceSettings

    block = {"batch_size": 4, "window_margin": None, "gpus": 1, "allow_cpu_fallback": True}
    assert InferenceSettings.from_config(block) == InferenceSettings(4, None, 1, True)
    assert InferenceSettings.from_config({}) == InferenceSettings()  # the schema's defaults


def _expected(lo, hi, size, margin, multiple):
    """The window along one axis, from its definition: the smallest run of
    whole strides from a stride boundary that holds ``lo - margin`` to
    ``hi + margin``, clipped to the frame."""
    start = max(0, lo - margin) // multiple * multiple
    stop = start
    while stop < min(size, hi + margin):
        stop += multiple
    return slice(start, min(stop, size))


def test_a_worked_example():
    mask = np.zeros((64, 64, 3), np.uint8)
    mask[13:30, 9:20, 1] = 1
    # rows 13-29 grown by 5 (8-34) on the stride-4 grid: 8-35.
    assert brain_window(mask, 5, 4) == (slice(8, 36), slice(4, 28))
    assert brain_window(mask, 0, 4) == (slice(12, 32), slice(8, 20))
    assert brain_window(mask, 5, 16) == (slice(0, 48), slice(0, 32))


def test_the_window_spans_all_slices():
    mask = np.zeros((32, 32, 4), np.uint8)
    mask[4, 20, 0] = 1
    mask[25, 6, 3] = 1
    assert brain_window(mask, 0, 4) == (slice(4, 28), slice(4, 24))


@pytest.mark.parametrize("seed", range(5))
def test_random_masks_match_the_definition(seed):
    rng = np.random.default_rng(seed)
    h, w = 8 * rng.integers(4, 12, size=2)
    mask = np.zeros((h, w, 3), np.uint8)
    r0, c0 = rng.integers(0, h - 2), rng.integers(0, w - 2)
    mask[r0 : r0 + rng.integers(1, h - r0), c0 : c0 + rng.integers(1, w - c0), rng.integers(0, 3)] = 1
    rows, cols = np.flatnonzero(mask.any(axis=(1, 2))), np.flatnonzero(mask.any(axis=(0, 2)))
    for margin in (0, 3, 8, 100):
        window = brain_window(mask, margin, DOWNSAMPLING)
        assert window == (
            _expected(rows[0], rows[-1] + 1, h, margin, DOWNSAMPLING),
            _expected(cols[0], cols[-1] + 1, w, margin, DOWNSAMPLING),
        )
        for axis, (s, lo, hi, size) in enumerate(zip(window, (rows[0], cols[0]), (rows[-1] + 1, cols[-1] + 1), (h, w))):
            assert s.start % DOWNSAMPLING == 0 and (s.stop - s.start) % DOWNSAMPLING == 0
            assert s.start <= max(0, lo - margin) and s.stop >= min(size, hi + margin)


def test_no_margin_or_no_brain_is_the_whole_frame():
    mask = np.zeros((40, 24, 2), np.uint8)
    assert brain_window(mask, 8) == (slice(0, 40), slice(0, 24))
    mask[10, 10, 1] = 1
    assert brain_window(mask, None) == (slice(0, 40), slice(0, 24))


class _CentreSlice:
    """A stand-in network: the logit of a pixel is the first sequence's
    value there on the slice itself (translation-equivariant, as a fully
    convolutional network is); it records the batches' shapes."""

    def __init__(self, context):
        self.context, self.shapes = context, []

    def predict_on_batch(self, batch):
        self.shapes.append(batch.shape)
        return batch[..., self.context : self.context + 1]


def test_predict_volume_computes_brain_slices_in_fixed_batches():
    rng = np.random.default_rng(2)
    shape = (32, 24, 7)
    volumes = {seq: rng.normal(size=shape).astype(np.float32) for seq in ("T1gd", "BRAVO")}
    mask = np.zeros(shape, np.uint8)
    mask[9:20, 5:14, 1:6] = 1
    mask[:, :, 3] = 0  # a slice without brain
    card = {"sequences": ["T1gd", "BRAVO"], "context": 1}
    expected = 1 / (1 + np.exp(-volumes["T1gd"])) * mask
    whole, windowed = _CentreSlice(1), _CentreSlice(1)
    prob = predict_volume(whole, card, volumes, mask, batch_size=3)
    np.testing.assert_allclose(prob, expected, rtol=1e-6)
    assert whole.shapes == [(3, 32, 24, 6)] * 2  # 4 brain slices: two batches, the last padded
    prob = predict_volume(windowed, card, volumes, mask, batch_size=3, margin=2)
    np.testing.assert_allclose(prob, expected, rtol=1e-6)
    rows, cols = brain_window(mask, 2)
    assert windowed.shapes == [(3, rows.stop - rows.start, cols.stop - cols.start, 6)] * 2
    # A missing sequence is given as zeros.
    missing = _CentreSlice(1)
    prob = predict_volume(missing, card, {"BRAVO": volumes["BRAVO"]}, mask, batch_size=8, missing=("T1gd",))
    np.testing.assert_allclose(prob, 0.5 * mask)


class _RowRamp(_CentreSlice):
    """A stand-in network that is not mirror-symmetric: the logit adds the
    row's index within the batch's window to the centre slice's value."""

    def predict_on_batch(self, batch):
        ramp = np.arange(batch.shape[1], dtype=np.float32)[None, :, None, None]
        return super().predict_on_batch(batch) + ramp


def test_mirror_images_are_every_flip_combination():
    assert mirror_images([]) == [()]
    assert mirror_images([1]) == [(), (1,)]
    assert mirror_images([1, 0, 1]) == [(), (0,), (1,), (0, 1)]
    with pytest.raises(ValueError, match="in-plane"):
        mirror_images([2])


def test_test_time_mirroring_averages_the_flipped_back_predictions():
    rng = np.random.default_rng(3)
    shape = (16, 12, 5)
    volumes = {"T1gd": rng.normal(size=shape).astype(np.float32)}
    mask = np.ones(shape, np.uint8)
    card = {"sequences": ["T1gd"], "context": 1}
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    ramp = np.arange(16, dtype=np.float32)[:, None, None]
    np.testing.assert_allclose(predict_volume(_RowRamp(1), card, volumes, mask, batch_size=4), sigmoid(volumes["T1gd"] + ramp), rtol=1e-6)
    model = _RowRamp(1)
    mirrored = predict_volume(model, {**card, "test_time_mirroring": [0, 1]}, volumes, mask, batch_size=4)
    # Flipped rows see the ramp reversed; flipped back, half the passes add
    # row i, half add row 15 - i; a column flip changes nothing here.
    expected = 0.5 * (sigmoid(volumes["T1gd"] + ramp) + sigmoid(volumes["T1gd"] + ramp[::-1]))
    np.testing.assert_allclose(mirrored, expected, rtol=1e-5)
    assert len(model.shapes) == 4 * 2  # 4 mirror images of each of 2 batches


# With a trained network (the slow tier: tests/conftest.py, fixture trained).


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
