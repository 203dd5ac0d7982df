"""The ``tf.data`` input pipeline of training and validation.

Training batches follow the paper: of ``batch_size`` (32) examples, a
``lesion_fraction`` (half) come from slices with some lesion and the rest
uniformly from all slices, because lesion-free slices outnumber lesion
slices more than 30 to 1. Each example is randomly flipped and rotated by a
multiple of 90 degrees, and optionally has one whole sequence blanked
(sequence dropout). Every random draw is stateless and seeded, so the same
seed gives the same batches.
"""

from __future__ import annotations

import math

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE
SHUFFLE_BUFFER = 256


def _decoder(index: dict):
    height, width, channels = index["height"], index["width"], index["channels"]
    dtype = tf.uint8 if index["image_dtype"] == "uint8" else tf.float16
    features = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.string),
        "has_lesion": tf.io.FixedLenFeature([], tf.int64),
    }

    def decode(serialized):
        f = tf.io.parse_single_example(serialized, features)
        image = tf.cast(tf.reshape(tf.io.decode_raw(f["image"], dtype), (height, width, channels)), tf.float32)
        if dtype == tf.uint8:
            image = image / 255.0
        label = tf.cast(tf.reshape(tf.io.decode_raw(f["label"], tf.uint8), (height, width, 1)), tf.float32)
        return image, label

    return decode


def _has_lesion(serialized):
    # Parses one scalar only: the image bytes are not decoded.
    return tf.io.parse_single_example(serialized, {"has_lesion": tf.io.FixedLenFeature([], tf.int64)})["has_lesion"] > 0


def check_compatible(indices: list[dict]) -> dict:
    """All shards must share the example layout; return the first index."""
    keys = ("height", "width", "channels", "image_dtype", "context", "sequences")
    first = indices[0]
    for index in indices[1:]:
        for key in keys:
            if index[key] != first[key]:
                raise ValueError(
                    f"records of patient {index['patient_id']} have {key}={index[key]!r}, "
                    f"those of {first['patient_id']} {first[key]!r}"
                )
    return first


def _examples(paths: list[str], seed: int, shuffle: bool) -> tf.data.Dataset:
    files = tf.data.Dataset.from_tensor_slices(sorted(paths))
    if shuffle:
        files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True).repeat()
    return files.interleave(
        lambda f: tf.data.TFRecordDataset(f, compression_type="GZIP"),
        cycle_length=min(8, len(paths)),
        num_parallel_calls=AUTOTUNE,
        deterministic=True,
    )


def augment(image, label, seed, channels_per_sequence: int, n_sequences: int, sequence_dropout: float, geometric: bool = True):
    """Random flips and 90-degree rotation (the same for image and label),
    then, with probability ``sequence_dropout``, one whole sequence blanked."""
    seeds = tf.random.experimental.stateless_split(seed, 5)
    if geometric:
        both = tf.concat([image, label], axis=-1)
        both = tf.image.stateless_random_flip_left_right(both, seeds[0])
        both = tf.image.stateless_random_flip_up_down(both, seeds[1])
        both = tf.image.rot90(both, tf.random.stateless_uniform([], seeds[2], 0, 4, dtype=tf.int32))
        image, label = both[..., :-1], both[..., -1:]
    if sequence_dropout > 0:
        drop = tf.random.stateless_uniform([], seeds[3]) < sequence_dropout
        which = tf.random.stateless_uniform([], seeds[4], 0, n_sequences, dtype=tf.int32)
        keep = tf.repeat(tf.cast(tf.range(n_sequences) != which, image.dtype), channels_per_sequence)
        image = tf.where(drop, image * keep, image)
    return image, label


def training_dataset(indices: list[dict], settings: dict, seed: int) -> tf.data.Dataset:
    """Endless balanced, augmented batches of (images, labels)."""
    first = check_compatible(indices)
    decode = _decoder(first)
    paths = [i["path"] for i in indices]
    batch = settings["batch_size"]
    n_lesion = int(round(batch * settings["lesion_fraction"]))
    per_seq, n_seq = 2 * first["context"] + 1, len(first["sequences"])
    dropout = float(settings["sequence_dropout"])
    if not any(i["lesion_examples"] for i in indices):
        raise ValueError("no training slice has a lesion: the lesion half of each batch cannot be drawn")

    def stream(filtered: bool, size: int, stream_seed: int):
        ds = _examples(paths, stream_seed, shuffle=True)
        if filtered:
            ds = ds.filter(_has_lesion)
        ds = ds.shuffle(SHUFFLE_BUFFER, seed=stream_seed).map(decode, num_parallel_calls=AUTOTUNE)
        if settings["augment"] or dropout > 0:
            seeds = tf.data.Dataset.random(seed=stream_seed).batch(2)
            ds = tf.data.Dataset.zip((ds, seeds)).map(
                lambda ex, s: augment(*ex, s, per_seq, n_seq, dropout, settings["augment"]),
                num_parallel_calls=AUTOTUNE,
            )
        return ds.batch(size, drop_remainder=True)

    lesion = stream(True, n_lesion, seed)
    uniform = stream(False, batch - n_lesion, seed + 1)
    batches = tf.data.Dataset.zip((lesion, uniform)).map(
        lambda a, b: (tf.concat([a[0], b[0]], 0), tf.concat([a[1], b[1]], 0)), num_parallel_calls=AUTOTUNE
    )
    return batches.prefetch(AUTOTUNE)


def validation_dataset(indices: list[dict], batch_size: int) -> tf.data.Dataset:
    """Every slice once, in order, unaugmented."""
    first = check_compatible(indices)
    ds = _examples([i["path"] for i in indices], 0, shuffle=False)
    return ds.map(_decoder(first), num_parallel_calls=AUTOTUNE).batch(batch_size).prefetch(AUTOTUNE)


def steps_per_epoch(indices: list[dict], batch_size: int) -> int:
    """An epoch is one pass over all distinct training slices (the paper)."""
    return max(1, math.ceil(sum(i["examples"] for i in indices) / batch_size))
