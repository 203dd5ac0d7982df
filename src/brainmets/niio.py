"""NIfTI reading and writing: atomic, deterministic, with clear errors."""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` so that ``path`` is either absent or complete.

    A killed job must never leave a half-written file that a later step could
    mistake for a result, so bytes go to a temporary file in the same folder
    and are renamed into place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        # mkstemp makes the file private; results are shared like any file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def save_nifti(path: str | os.PathLike, data: np.ndarray, affine: np.ndarray) -> None:
    """Save a 3D array as NIfTI-1; ``.gz`` output is byte-reproducible.

    gzip normally stores a timestamp; writing with ``mtime=0`` makes the same
    array give the same bytes on every run.
    """
    img = nib.Nifti1Image(np.asarray(data), np.asarray(affine, dtype=np.float64))
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(img.affine, code=1)
    img.set_sform(img.affine, code=1)
    raw = img.to_bytes()
    if str(path).endswith(".gz"):
        raw = gzip.compress(raw, compresslevel=6, mtime=0)
    atomic_write_bytes(path, raw)


def load_nifti(path: str | os.PathLike, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Load a NIfTI file fully into memory, returning (data, affine)."""
    img = nib.load(str(path))
    return np.asarray(img.dataobj, dtype=dtype), img.affine.copy()


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes; of a folder, of all its files' bytes one
    after another, in the order of their paths."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def voxel_volume_mm3(affine: np.ndarray) -> float:
    return float(abs(np.linalg.det(np.asarray(affine)[:3, :3])))


def spacing_mm(affine: np.ndarray) -> np.ndarray:
    return np.sqrt((np.asarray(affine)[:3, :3] ** 2).sum(axis=0))
