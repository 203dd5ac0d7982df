"""TFRecord schema, lossless storage, the in-memory slice bank and its
2.5D neighbourhoods, and the balanced sampler's statistics."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from scipy import stats

from brainmets.network import dataset, loader
from brainmets.layout import record_files
from brainmets.network.records import check_compatible, read_index, read_patient_records, write_patient_records
from brainmets.network.slicebank import SliceBank
from brainmets.network.stacking import SliceStacker
from brainmets.niio import file_sha256, load_nifti
from brainmets.sequences import SEQUENCES

from tests.tiny_network import SHAPE, write_preprocessed

def _tf_features(tf):
    return {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.string),
        "height": tf.io.FixedLenFeature([], tf.int64),
        "width": tf.io.FixedLenFeature([], tf.int64),
        "patient_id": tf.io.FixedLenFeature([], tf.string),
        "slice_index": tf.io.FixedLenFeature([], tf.int64),
        "has_lesion": tf.io.FixedLenFeature([], tf.int64),
    }


def read_all(index):
    """The shard as TensorFlow itself reads it: the records are written
    without TensorFlow, and must stay TFRecords."""
    tf = pytest.importorskip("tensorflow")
    raw = tf.data.TFRecordDataset(index["path"], compression_type="GZIP")
    return [tf.io.parse_single_example(r, _tf_features(tf)) for r in raw]


def test_schema_and_index(records):
    files, index = records[0]
    examples = read_all(index)
    assert index["examples"] == len(examples) == SHAPE[2]
    assert index["image_dtype"] == "uint8" and index["compression"] == "GZIP" and index["sequences"] == list(SEQUENCES)
    assert [int(e["slice_index"]) for e in examples] == list(range(SHAPE[2]))
    assert {e["patient_id"].numpy().decode() for e in examples} == {"r0"}
    assert [int(e["has_lesion"]) for e in examples] == [int(k in (4, 5, 6)) for k in range(SHAPE[2])]
    assert index["lesion_examples"] == 3 and index["lesion_slices"] == [4, 5, 6]
    # Each slice once: its four sequences, not a 28-channel neighbourhood.
    assert all(len(e["image"].numpy()) == 32 * 32 * 4 for e in examples)
    assert index["bytes_per_example"] < 32 * 32 * 4 + 2 * 32 * 32  # compressed below raw uint8
    assert len(index["sha256"]) == 64


def test_records_are_lossless(records):
    files, index = records[0]
    examples = read_all(index)
    volumes = [load_nifti(files[s])[0] for s in SEQUENCES]  # slice axis is last here
    mask = load_nifti(files["brain_mask"])[0]
    for k in (0, 5, SHAPE[2] - 1):
        image = np.frombuffer(examples[k]["image"].numpy(), np.uint8).reshape(32, 32, 4)
        for s, vol in enumerate(volumes):
            np.testing.assert_allclose(image[..., s] / 255.0, vol[..., k], atol=1e-6)
        # Outside the brain mask the stored images are zero: no mask feature is needed.
        assert not image[mask[..., k] == 0].any()


def test_bank_neighbourhoods_are_sequence_major_and_zero_padded(records):
    bank = SliceBank([r[1] for r in records], context=3)
    assert bank.channels == 28 and len(bank.centres) == 3 * SHAPE[2] and len(bank.lesion_centres) == 9
    for number, (files, _) in enumerate(records):
        volumes = [load_nifti(files[s])[0] for s in SEQUENCES]
        for k in (0, 1, 5, SHAPE[2] - 1):
            row = bank.centres[(bank.patient == number) & (bank.slice_index == k)]
            image = bank.inputs(row)[0] / 255.0
            for s, vol in enumerate(volumes):
                for j, offset in enumerate(range(-3, 4)):
                    z = k + offset
                    # Beyond the first or last slice: zeros, never the next patient.
                    expected = vol[..., z] if 0 <= z < SHAPE[2] else np.zeros((32, 32))
                    np.testing.assert_allclose(image[..., s * 7 + j], expected, atol=1e-6)


def test_same_input_same_bytes_in_another_process(tmp_path, records):
    # Another process with another hash seed: protobuf map order must not leak in.
    files, index = records[1]
    out = record_files(tmp_path, "r1")
    code = (
        "import sys, json; from pathlib import Path; from brainmets.network.records import write_patient_records; "
        "a = json.loads(sys.argv[1]); "
        "write_patient_records('r1', a['images'], a['mask'], a['lesions'], {k: Path(v) for k, v in a['out'].items()}, 'histogram_equalization')"
    )
    import json

    args = {"images": {s: str(files[s]) for s in SEQUENCES}, "mask": str(files["brain_mask"]), "lesions": str(files["lesions"]), "out": {k: str(v) for k, v in out.items()}}
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, json.dumps(args)], check=True, env=env, capture_output=True, timeout=300)
    assert out["shard"].read_bytes() == open(index["path"], "rb").read()
    assert read_index(out["index"])["sha256"] == index["sha256"]


def test_stacker_channel_count_follows_context():
    vols = [np.ones((8, 8, 5), np.float32) * i for i in range(4)]
    stacker = SliceStacker(vols, context=1)
    assert stacker.channels == 12
    example = stacker.example(0)
    assert example.shape == (8, 8, 12)
    assert example[0, 0, :3].tolist() == [0, 0, 0] and example[0, 0, 3:6].tolist() == [0, 1, 1]  # zero below slice 0


def test_truncated_shard_fails_naming_patient_and_file(tmp_path, records):
    files, index = records[2]
    broken = tmp_path / "broken.tfrecord.gz"
    broken.write_bytes(open(index["path"], "rb").read()[:400])
    with pytest.raises(ValueError, match=f"patient r2, file {broken}: its SHA-256 is not"):
        SliceBank([{**index, "path": str(broken)}], context=3)
    # A damaged shard whose index was rewritten to match still fails in decoding.
    with pytest.raises(ValueError, match=f"patient r2, file {broken}: unreadable"):
        SliceBank([{**index, "path": str(broken), "sha256": file_sha256(broken)}], context=3)
    with pytest.raises(ValueError, match="the shard is missing"):
        SliceBank([{**index, "path": str(tmp_path / "gone.tfrecord.gz")}], context=3)


def test_reader_and_tensorflow_agree(records):
    files, index = records[0]
    mine = read_patient_records(index)
    for example in read_all(index):
        k = int(example["slice_index"])
        np.testing.assert_array_equal(np.frombuffer(example["image"].numpy(), np.uint8).reshape(32, 32, 4), mine["images"][k])
        np.testing.assert_array_equal(np.frombuffer(example["label"].numpy(), np.uint8).reshape(32, 32), mine["labels"][k])


def _sampler(records, **overrides):
    settings = dict(batch_size=8, lesion_fraction=0.5, seed=5, augment=True, sequence_dropout=0.0)
    settings.update(overrides)
    bank = SliceBank([r[1] for r in records], context=3)
    return dataset.BalancedSampler(bank, **settings)


def test_sampling_is_uniform_over_slices_and_lesion_slices(records):
    """Over many batches: the uniform half is uniform over every slice of
    every patient, the lesion half uniform over the lesion slices, and the
    halves alternate within each batch."""
    sampler = _sampler(records)
    bank = sampler.bank
    uniform, lesion = [], []
    for step in range(3000):
        rows, is_lesion = sampler.draw(step)
        assert is_lesion.tolist() == [True, False] * 4  # every contiguous half has both kinds
        uniform.append(rows[~is_lesion])
        lesion.append(rows[is_lesion])
    uniform, lesion = np.concatenate(uniform), np.concatenate(lesion)
    position = {row: i for i, row in enumerate(bank.centres)}
    counts = np.bincount([position[r] for r in uniform], minlength=len(bank.centres))
    assert stats.chisquare(counts).pvalue > 1e-3
    # Patients in proportion to their slices, slice index uniform within them.
    assert stats.chisquare(np.bincount(bank.patient[[position[r] for r in uniform]])).pvalue > 1e-3
    assert stats.chisquare(np.bincount(bank.slice_index[[position[r] for r in uniform]])).pvalue > 1e-3
    assert set(lesion) == set(bank.lesion_centres)
    assert stats.chisquare(np.unique(lesion, return_counts=True)[1]).pvalue > 1e-3


def test_sampler_detects_a_skewed_draw(records):
    # The statistics above can fail: the old stream's slice-order window would.
    bank = _sampler(records).bank
    skewed = np.bincount(np.arange(len(bank.centres))[: len(bank.centres) // 3].repeat(30), minlength=len(bank.centres))
    assert stats.chisquare(skewed + 1).pvalue < 1e-6


def test_balanced_batches_through_the_loader_stay_in_the_stored_dtype(records):
    sampler = _sampler(records)
    batches = loader.training_batches(sampler, 0, workers=3)
    for _ in range(6):
        x, y = next(batches)
        assert x.shape == (8, 32, 32, 28) and y.shape == (8, 32, 32, 1) and x.dtype == np.uint8 and y.dtype == np.uint8
        assert all(y[i].any() for i in range(0, 8, 2))  # the lesion draws
    assert batches.batches == 6 and batches.waited_seconds >= 0
    batches.close()


def test_loader_hands_out_in_order_and_passes_errors_on():
    def produce(i):
        time.sleep(0.02 * (i % 3))  # finished out of order
        if i == 7:
            raise ValueError("patient x: batch 7")
        return i

    batches = loader.PrefetchingBatches(produce, first=2, stop=7, workers=4)
    assert list(batches) == [2, 3, 4, 5, 6]
    failing = loader.PrefetchingBatches(produce, first=5, workers=2)
    assert [next(failing), next(failing)] == [5, 6]
    with pytest.raises(ValueError, match="batch 7"):
        next(failing)
    failing.close()


def test_augmentation_moves_image_and_label_together(records):
    sampler = _sampler(records, seed=7)
    for step in range(4):
        x, y = sampler.batch(step)
        for i in range(0, 8, 2):
            # The lesion is bright (255) in the first sequence's centre slice.
            assert np.all(x[i, ..., 3][y[i, ..., 0] > 0] == 255)


def test_same_seed_same_batches_and_resume_sees_the_same_stream(records):
    a, b, c = _sampler(records, seed=11), _sampler(records, seed=11), _sampler(records, seed=12)
    assert all(np.array_equal(a.batch(s)[0], b.batch(s)[0]) for s in range(3))
    assert not all(np.array_equal(a.batch(s)[0], c.batch(s)[0]) for s in range(3))
    # From batch 5 on, as a run resumed there would draw them.
    resumed = loader.training_batches(a, 5, workers=2)
    next(resumed)
    np.testing.assert_array_equal(next(resumed)[0], b.batch(6)[0])
    resumed.close()


def test_sequence_dropout_blanks_whole_sequences(records):
    sampler = _sampler(records, sequence_dropout=1.0, augment=False, seed=3)
    intact = _sampler(records, sequence_dropout=0.0, augment=False, seed=3)
    for step in range(2):
        x, _ = sampler.batch(step)
        full, _ = intact.batch(step)
        for example, original in zip(x, full):
            # Channels are sequence-major: 4 sequences x 7 slices.
            blocks, originals = example.reshape(32, 32, 4, 7), original.reshape(32, 32, 4, 7)
            blanked = blocks.max(axis=(0, 1, 3)) == 0
            assert 1 <= blanked.sum() <= 3
            # Each sequence is either all zeros or untouched.
            np.testing.assert_array_equal(blocks[..., ~blanked, :], originals[..., ~blanked, :])


def test_validation_sees_every_slice_once(records):
    bank = SliceBank([r[1] for r in records], context=3)
    validation = loader.ValidationBatches(bank, 5, workers=2)
    batches = [validation[i] for i in range(len(validation))]
    assert sum(x.shape[0] for x, _ in batches) == 3 * SHAPE[2] == 5 * len(validation) - 4
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches])[..., 0], bank.labels[bank.centres])
    assert dataset.steps_per_epoch(36, 8) == 5  # ceil(36 / 8)


def test_incompatible_records_are_refused(tmp_path, records):
    files = write_preprocessed(tmp_path, "odd", seed=9)
    out = record_files(tmp_path / "records", "odd")
    write_patient_records("odd", {s: files[s] for s in SEQUENCES}, files["brain_mask"], files["lesions"], out, "zscore")
    with pytest.raises(ValueError, match="patient odd have image_dtype='float16'"):
        check_compatible([records[0][1], read_index(out["index"])])


def test_patches_keep_a_lesion_voxel_in_lesion_draws(records):
    sampler = _sampler(records, crop=16, seed=4)
    for step in range(20):
        x, y = sampler.batch(step)
        assert x.shape == (8, 16, 16, 28) and y.shape == (8, 16, 16, 1)
        assert all(y[i].any() for i in range(0, 8, 2))
    # A patch as large as the slice is the slice itself (the paper).
    assert _sampler(records, crop=32).crop is None
    batches = loader.training_batches(sampler, 0, workers=2)
    assert next(batches)[0].shape == (8, 16, 16, 28)
    batches.close()
