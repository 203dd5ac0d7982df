"""TFRecord shards of 2.5D training examples, one shard per patient.

Each example (a ``tf.train.Example``) holds:

==============  =======  ==============================================
feature         type     content
==============  =======  ==============================================
image           bytes    (H, W, C) raw, ``image_dtype``; C = 4 x (2c+1)
label           bytes    (H, W) uint8 lesion mask of the centre slice
mask            bytes    (H, W) uint8 brain mask of the centre slice
height, width   int64    H, W
channels        int64    C
patient_id      bytes    patient id
slice_index     int64    centre slice k (slice axis last, see stacking)
has_lesion      int64    1 when the label slice has a lesion voxel
==============  =======  ==============================================

Histogram-equalized images take 256 levels (k/255), so ``uint8`` storage is
lossless; z-scored images are stored as ``float16``. Shards are GZIP
compressed. A JSON index beside each shard gives its counts and sizes, so
training plans epochs without reading the shards.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..niio import atomic_write_text, load_nifti
from ..sequences import SEQUENCES
from .stacking import SliceStacker, to_slices_last

FORMAT_VERSION = 1


def image_dtype(normalization: str) -> str:
    return "uint8" if normalization == "histogram_equalization" else "float16"


def encode_images(batch: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "uint8":
        return np.clip(np.rint(batch * 255.0), 0, 255).astype(np.uint8)
    return batch.astype(np.float16)


def load_patient_volumes(images: dict, mask_path, lesions_path=None):
    """The preprocessed sequences, brain mask and lesions, slices last."""
    vols, affine = [], None
    for seq in SEQUENCES:
        data, aff = load_nifti(images[seq])
        if affine is not None and (data.shape != vols[0].shape or not np.allclose(aff, affine, atol=1e-4)):
            raise ValueError(f"file {images[seq]}: grid differs from {images[SEQUENCES[0]]}")
        affine = aff
        vols.append(to_slices_last(data, aff))
    mask, _ = load_nifti(mask_path, np.uint8)
    lesions = None
    if lesions_path is not None:
        lesions = to_slices_last(load_nifti(lesions_path, np.uint8)[0], affine)
    return vols, to_slices_last(mask, affine), lesions, affine


def _feature(value):
    import tensorflow as tf

    if isinstance(value, bytes):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def write_patient_records(pid: str, images: dict, mask_path, lesions_path, paths: dict, context: int, normalization: str) -> dict:
    """Write every slice of one patient as an example; return the index."""
    import tensorflow as tf

    vols, mask, lesions, _ = load_patient_volumes(images, mask_path, lesions_path)
    stacker = SliceStacker(vols, context)
    dtype = image_dtype(normalization)
    height, width, n_slices = vols[0].shape
    n_lesion = 0
    shard = Path(paths["shard"])
    shard.parent.mkdir(parents=True, exist_ok=True)
    tmp = shard.with_name(f".{shard.name}.tmp")
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    with tf.io.TFRecordWriter(str(tmp), options) as writer:
        for k in range(n_slices):
            label = (lesions[:, :, k] > 0).astype(np.uint8)
            has_lesion = int(label.any())
            n_lesion += has_lesion
            features = {
                "image": encode_images(stacker.example(k), dtype).tobytes(),
                "label": label.tobytes(),
                "mask": (mask[:, :, k] > 0).astype(np.uint8).tobytes(),
                "height": height,
                "width": width,
                "channels": stacker.channels,
                "patient_id": pid.encode(),
                "slice_index": k,
                "has_lesion": has_lesion,
            }
            example = tf.train.Example(features=tf.train.Features(feature={k2: _feature(v) for k2, v in features.items()}))
            # Map fields (the features) serialize in a fixed order only when asked.
            writer.write(example.SerializeToString(deterministic=True))
    os.replace(tmp, shard)
    index = {
        "format_version": FORMAT_VERSION,
        "patient_id": pid,
        "shard": shard.name,
        "examples": n_slices,
        "lesion_examples": n_lesion,
        "height": height,
        "width": width,
        "channels": stacker.channels,
        "context": context,
        "sequences": list(SEQUENCES),
        "image_dtype": dtype,
        "compression": "GZIP",
        "bytes": shard.stat().st_size,
        "bytes_per_example": shard.stat().st_size / n_slices,
    }
    atomic_write_text(paths["index"], json.dumps(index, indent=2))
    return index


def read_index(path) -> dict:
    index = json.loads(Path(path).read_text())
    if index.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"file {path}: record format {index.get('format_version')} is not {FORMAT_VERSION}; rebuild the records")
    index["path"] = str(Path(path).with_name(index["shard"]))
    return index
