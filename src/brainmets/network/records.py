"""TFRecord shards of preprocessed slices, one shard per patient.

Each slice is stored once; the 2.5D neighbourhood the network takes is
built when sampling, from the volumes held in memory (``slicebank``). Each
example (a ``tf.train.Example``) holds:

==============  =======  ==============================================
feature         type     content
==============  =======  ==============================================
image           bytes    (H, W, S) raw, ``image_dtype``: the S sequences
label           bytes    (H, W) uint8 lesion mask of the slice
height, width   int64    H, W
patient_id      bytes    patient id
slice_index     int64    slice k (slice axis last, see brainmets.slices)
has_lesion      int64    1 when the label slice has a lesion voxel
==============  =======  ==============================================

Histogram-equalized images take 256 levels (k/255), so ``uint8`` storage is
lossless; z-scored images are stored as ``float16``. Shards are GZIP
compressed and written deterministically (same inputs, same bytes). A JSON
index beside each shard gives its counts, sizes, lesion slices and the
SHA-256 of the shard, so training plans epochs and recognizes changed data
without reading the shards.

Neither writing nor reading needs TensorFlow (training also runs under the
JAX and PyTorch backends, on machines without it): ``tfrecord_format``
writes and reads the records, in a GZIP stream with no timestamp, which
``tf.data.TFRecordDataset`` reads too. A shard is read only after its
SHA-256 matches its index, and every record's CRCs are checked.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import numpy as np

from ..niio import atomic_write_text, file_sha256, load_nifti
from ..sequences import SEQUENCES
from ..slices import to_slices_last
from .tfrecord_format import decode_example, encode_example, read_records, write_record

# 3: no brain-mask feature (the images are masked already; nothing read it).
FORMAT_VERSION = 3


def image_dtype(normalization: str) -> str:
    return "uint8" if normalization == "histogram_equalization" else "float16"


def full_scale(dtype) -> float:
    """The stored value of a normalized 1.0: uint8 keeps the 256 levels
    of histogram equalization as 0-255, floats keep 0-1."""
    return 255.0 if np.dtype(dtype) == np.uint8 else 1.0


def encode_images(batch: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "uint8":
        return np.clip(np.rint(batch * full_scale(dtype)), 0, 255).astype(np.uint8)
    return batch.astype(np.float16)


def sequences_of(images: dict) -> list[str]:
    """The sequences given, in the network's channel order."""
    return [seq for seq in SEQUENCES if seq in images]


def load_patient_volumes(images: dict, mask_path, lesions_path=None):
    """The preprocessed sequences (those of ``images``, in the order of
    ``SEQUENCES``), brain mask and lesions, slices last."""
    vols, affine = [], None
    for seq in sequences_of(images):
        data, aff = load_nifti(images[seq])
        if affine is not None and (data.shape != vols[0].shape or not np.allclose(aff, affine, atol=1e-4)):
            raise ValueError(f"file {images[seq]}: grid differs from {images[sequences_of(images)[0]]}")
        affine = aff
        vols.append(to_slices_last(data, aff))
    mask, _ = load_nifti(mask_path, np.uint8)
    lesions = None
    if lesions_path is not None:
        lesions = to_slices_last(load_nifti(lesions_path, np.uint8)[0], affine)
    return vols, to_slices_last(mask, affine), lesions, affine


def write_patient_records(pid: str, images: dict, mask_path, lesions_path, paths: dict, normalization: str) -> dict:
    """Write every slice of one patient as an example; return the index."""
    vols, _, lesions, _ = load_patient_volumes(images, mask_path, lesions_path)
    dtype = image_dtype(normalization)
    stored = encode_images(np.stack(vols, axis=-1), dtype)  # (H, W, Z, S)
    height, width, n_slices, n_seq = stored.shape
    lesion_slices = []
    shard = Path(paths["shard"])
    shard.parent.mkdir(parents=True, exist_ok=True)
    tmp = shard.with_name(f".{shard.name}.tmp")
    # mtime 0 and no file name in the header: same inputs, same bytes. Level
    # 6, zlib's default (TensorFlow's): 9 is much slower for little gain.
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as stream:
        for k in range(n_slices):
            label = (lesions[:, :, k] > 0).astype(np.uint8)
            has_lesion = int(label.any())
            if has_lesion:
                lesion_slices.append(k)
            features = {
                "image": np.ascontiguousarray(stored[:, :, k, :]).tobytes(),
                "label": label.tobytes(),
                "height": height,
                "width": width,
                "patient_id": pid.encode(),
                "slice_index": k,
                "has_lesion": has_lesion,
            }
            write_record(stream, encode_example(features))
    os.replace(tmp, shard)
    size = shard.stat().st_size
    index = {
        "format_version": FORMAT_VERSION,
        "patient_id": pid,
        "shard": shard.name,
        "sha256": file_sha256(shard),
        "examples": n_slices,
        "lesion_examples": len(lesion_slices),
        "lesion_slices": lesion_slices,
        "height": height,
        "width": width,
        "sequences": sequences_of(images),
        "image_dtype": dtype,
        "compression": "GZIP",
        "bytes": size,
        "bytes_per_example": size / n_slices,
    }
    atomic_write_text(paths["index"], json.dumps(index, indent=2))
    return index


def read_index(path) -> dict:
    index = json.loads(Path(path).read_text())
    if index.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"file {path}: record format {index.get('format_version')} is not {FORMAT_VERSION}; rebuild the records")
    index["path"] = str(Path(path).with_name(index["shard"]))
    return index


def check_compatible(indices: list[dict]) -> dict:
    """All shards must share the example layout; return the first index."""
    keys = ("height", "width", "image_dtype", "sequences")
    first = indices[0]
    for index in indices[1:]:
        for key in keys:
            if index[key] != first[key]:
                raise ValueError(
                    f"records of patient {index['patient_id']} have {key}={index[key]!r}, "
                    f"those of {first['patient_id']} {first[key]!r}"
                )
    return first


def read_patient_records(index: dict) -> dict[str, np.ndarray]:
    """One shard back as volumes: ``images`` (Z, H, W, S) in the stored
    dtype and ``labels`` (Z, H, W) uint8. Fails naming the
    patient and file when the shard does not match its index."""
    h, w, n_seq = index["height"], index["width"], len(index["sequences"])
    dtype = np.dtype(index["image_dtype"])
    z = index["examples"]
    where = f"patient {index['patient_id']}, file {index['path']}"
    if not Path(index["path"]).exists():
        raise ValueError(f"{where}: the shard is missing; rebuild the records")
    if file_sha256(index["path"]) != index["sha256"]:
        raise ValueError(f"{where}: its SHA-256 is not the one its index gives (changed or damaged); rebuild the records")
    images = np.zeros((z, h, w, n_seq), dtype)
    labels = np.zeros((z, h, w), np.uint8)
    seen = set()
    try:
        with gzip.open(index["path"], "rb") as stream:
            for record in read_records(stream):
                example = decode_example(record)
                k = example["slice_index"][0]
                images[k] = np.frombuffer(example["image"], dtype).reshape(h, w, n_seq)
                labels[k] = np.frombuffer(example["label"], np.uint8).reshape(h, w)
                seen.add(k)
    except (OSError, EOFError, KeyError, ValueError, IndexError, TypeError) as err:
        raise ValueError(f"{where}: unreadable or not as its index describes ({err})") from err
    if len(seen) != z:
        raise ValueError(f"{where}: {len(seen)} distinct slices, its index says {z}; rebuild the records")
    return {"images": images, "labels": labels}
