"""TFRecord schema, lossless storage, edge padding and the input pipeline."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from brainmets.network import dataset
from brainmets.network.paths import record_paths
from brainmets.network.records import read_index, write_patient_records
from brainmets.network.stacking import SliceStacker
from brainmets.niio import load_nifti
from brainmets.sequences import SEQUENCES

from .conftest import SHAPE, write_preprocessed

FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.string),
    "mask": tf.io.FixedLenFeature([], tf.string),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
    "channels": tf.io.FixedLenFeature([], tf.int64),
    "patient_id": tf.io.FixedLenFeature([], tf.string),
    "slice_index": tf.io.FixedLenFeature([], tf.int64),
    "has_lesion": tf.io.FixedLenFeature([], tf.int64),
}


def read_all(index):
    raw = tf.data.TFRecordDataset(index["path"], compression_type="GZIP")
    return [tf.io.parse_single_example(r, FEATURES) for r in raw]


def test_schema_and_index(records):
    files, index = records[0]
    examples = read_all(index)
    assert index["examples"] == len(examples) == SHAPE[2]
    assert index["channels"] == 28 and index["image_dtype"] == "uint8" and index["compression"] == "GZIP"
    assert [int(e["slice_index"]) for e in examples] == list(range(SHAPE[2]))
    assert {e["patient_id"].numpy().decode() for e in examples} == {"r0"}
    assert [int(e["has_lesion"]) for e in examples] == [int(k in (4, 5, 6)) for k in range(SHAPE[2])]
    assert index["lesion_examples"] == 3
    assert index["bytes_per_example"] < 32 * 32 * 28  # compressed below raw uint8


def test_examples_are_lossless_with_sequence_major_channels_and_zero_padding(records):
    files, index = records[0]
    examples = read_all(index)
    volumes = [load_nifti(files[s])[0] for s in SEQUENCES]  # slice axis is last here
    mask = load_nifti(files["brain_mask"])[0]
    for k in (0, 5, SHAPE[2] - 1):
        image = np.frombuffer(examples[k]["image"].numpy(), np.uint8).reshape(32, 32, 28)
        for s, vol in enumerate(volumes):
            for j, offset in enumerate(range(-3, 4)):
                channel = image[..., s * 7 + j] / 255.0
                z = k + offset
                expected = vol[..., z] if 0 <= z < SHAPE[2] else np.zeros((32, 32))
                np.testing.assert_allclose(channel, expected, atol=1e-6)
        np.testing.assert_array_equal(np.frombuffer(examples[k]["mask"].numpy(), np.uint8).reshape(32, 32), mask[..., k])


def test_same_input_same_bytes_in_another_process(tmp_path, records):
    # Another process with another hash seed: protobuf map order must not leak in.
    files, index = records[1]
    out = record_paths(tmp_path, "r1")
    code = (
        "import sys, json; from pathlib import Path; from brainmets.network.records import write_patient_records; "
        "a = json.loads(sys.argv[1]); "
        "write_patient_records('r1', a['images'], a['mask'], a['lesions'], {k: Path(v) for k, v in a['out'].items()}, 3, 'histogram_equalization')"
    )
    args = {"images": {s: str(files[s]) for s in SEQUENCES}, "mask": str(files["brain_mask"]), "lesions": str(files["lesions"]), "out": {k: str(v) for k, v in out.items()}}
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, json.dumps(args)], check=True, env=env, capture_output=True, timeout=300)
    assert out["shard"].read_bytes() == open(index["path"], "rb").read()


def test_stacker_channel_count_follows_context():
    vols = [np.ones((8, 8, 5), np.float32) * i for i in range(4)]
    stacker = SliceStacker(vols, context=1)
    assert stacker.channels == 12
    example = stacker.example(0)
    assert example.shape == (8, 8, 12)
    assert example[0, 0, :3].tolist() == [0, 0, 0] and example[0, 0, 3:6].tolist() == [0, 1, 1]  # zero below slice 0


def _settings(**overrides):
    base = dict(batch_size=8, lesion_fraction=0.5, augment=True, sequence_dropout=0.0)
    return {**base, **overrides}


def _take(ds, n):
    return [(x.numpy(), y.numpy()) for x, y in ds.take(n)]


def test_balanced_batches(records):
    indices = [r[1] for r in records]
    for x, y in _take(dataset.training_dataset(indices, _settings(), seed=5), 6):
        assert x.shape == (8, 32, 32, 28) and y.shape == (8, 32, 32, 1)
        assert all(y[i].any() for i in range(4))  # the lesion half
        assert 0.0 <= x.min() and x.max() <= 1.0


def test_augmentation_moves_image_and_label_together(records):
    indices = [r[1] for r in records]
    for x, y in _take(dataset.training_dataset(indices, _settings(), seed=7), 4):
        for i in range(4):
            # The lesion is bright (1.0) in the first sequence's centre slice.
            assert np.all(x[i, ..., 3][y[i, ..., 0] > 0] == pytest.approx(1.0))


def test_same_seed_same_batches(records):
    indices = [r[1] for r in records]
    a = _take(dataset.training_dataset(indices, _settings(), seed=11), 3)
    b = _take(dataset.training_dataset(indices, _settings(), seed=11), 3)
    c = _take(dataset.training_dataset(indices, _settings(), seed=12), 3)
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(a, b))
    assert not all(np.array_equal(p[0], q[0]) for p, q in zip(a, c))


def test_sequence_dropout_blanks_whole_sequences(records):
    indices = [r[1] for r in records]
    ds = dataset.training_dataset(indices, _settings(sequence_dropout=1.0, augment=False), seed=3)
    for x, _ in _take(ds, 2):
        for example in x:
            per_sequence = example.reshape(32, 32, 4, 7).max(axis=(0, 1, 3))
            assert (per_sequence == 0).sum() == 1


def test_validation_sees_every_slice_once(records):
    indices = [r[1] for r in records]
    n = sum(x.shape[0] for x, _ in dataset.validation_dataset(indices, 5))
    assert n == 3 * SHAPE[2]
    assert dataset.steps_per_epoch(indices, 8) == 5  # ceil(36 / 8)


def test_incompatible_records_are_refused(tmp_path, records):
    files = write_preprocessed(tmp_path, "odd", seed=9)
    out = record_paths(tmp_path / "records", "odd")
    write_patient_records("odd", {s: files[s] for s in SEQUENCES}, files["brain_mask"], files["lesions"], out, 2, "histogram_equalization")
    with pytest.raises(ValueError, match="patient odd have channels=20"):
        dataset.check_compatible([records[0][1], read_index(out["index"])])
