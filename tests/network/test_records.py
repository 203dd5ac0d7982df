"""TFRecord shards of a patient's slices (``network.records``): schema,
lossless storage, the same bytes from the same input, TensorFlow's reading."""

import os
import subprocess
import sys

import numpy as np
import pytest

from brainmets.layout import record_files
from brainmets.network.records import check_compatible, read_index, read_patient_records, write_patient_records
from brainmets.network.slicebank import SliceBank
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


def test_incompatible_records_are_refused(tmp_path, records):
    files = write_preprocessed(tmp_path, "odd", seed=9)
    out = record_files(tmp_path / "records", "odd")
    write_patient_records("odd", {s: files[s] for s in SEQUENCES}, files["brain_mask"], files["lesions"], out, "zscore")
    with pytest.raises(ValueError, match="patient odd have image_dtype='float16'"):
        check_compatible([records[0][1], read_index(out["index"])])
