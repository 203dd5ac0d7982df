"""The TFRecord container and Example codec against TensorFlow's own."""

import gzip
import io

import pytest

from brainmets.network.tfrecord_format import decode_example, encode_example, read_records, write_record

FEATURES = {"image": bytes(range(256)) * 3, "label": b"", "height": 300, "patient_id": "007".encode(), "slice_index": 0, "big": 2**40 + 5}


def test_round_trip_and_crc_checks():
    stream = io.BytesIO()
    for k in range(3):
        write_record(stream, encode_example({**FEATURES, "slice_index": k}))
    data = stream.getvalue()
    decoded = [decode_example(r) for r in read_records(io.BytesIO(data))]
    assert [d["slice_index"] for d in decoded] == [[0], [1], [2]]
    assert decoded[0]["image"] == FEATURES["image"] and decoded[0]["height"] == [300] and decoded[0]["big"] == [2**40 + 5]
    damaged = bytearray(data)
    damaged[40] ^= 1  # inside the first record's data
    with pytest.raises(ValueError, match="record 0: damaged data"):
        list(read_records(io.BytesIO(bytes(damaged))))
    with pytest.raises(ValueError, match="record 2: damaged"):
        list(read_records(io.BytesIO(data[:-3])))
    with pytest.raises(ValueError, match="non-negative"):
        encode_example({"x": -1})


def test_same_bytes_as_tensorflow_and_read_by_it(tmp_path):
    tf = pytest.importorskip("tensorflow")

    def feature(v):
        if isinstance(v, bytes):
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))

    theirs = tf.train.Example(features=tf.train.Features(feature={k: feature(v) for k, v in FEATURES.items()}))
    assert encode_example(FEATURES) == theirs.SerializeToString(deterministic=True)
    # Their records, unpacked int64s included, read here; ours read there.
    path = tmp_path / "theirs.tfrecord.gz"
    with tf.io.TFRecordWriter(str(path), tf.io.TFRecordOptions(compression_type="GZIP")) as writer:
        writer.write(theirs.SerializeToString())
    with gzip.open(path, "rb") as stream:
        (record,) = list(read_records(stream))
    assert decode_example(record)["big"] == [2**40 + 5] and decode_example(record)["image"] == FEATURES["image"]
    ours = tmp_path / "ours.tfrecord.gz"
    with open(ours, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as stream:
        write_record(stream, encode_example(FEATURES))
    (parsed,) = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(str(ours), compression_type="GZIP")]
    assert parsed.features.feature["big"].int64_list.value == [2**40 + 5]
