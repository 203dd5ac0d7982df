"""Input checks run before any heavy work.

Every problem names the patient, the file and what is wrong, so that a user
with hundreds of patients can fix the one that failed.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np

# BIDS labels are alphanumeric; this also rules out path separators and "..".
PATIENT_ID = re.compile(r"^[A-Za-z0-9]+$")


class InputError(ValueError):
    """A problem with one patient's input."""

    def __init__(self, patient: str, file, problem: str):
        self.patient, self.file, self.problem = patient, str(file), problem
        super().__init__(f"patient {patient!r}, file {file}: {problem}")


def check_patient_ids(ids) -> None:
    """Reject unsafe or duplicate patient ids (before any job is created)."""
    problems = []
    seen = set()
    for pid in ids:
        pid_str = str(pid)
        if not PATIENT_ID.match(pid_str):
            problems.append(f"patient id {pid_str!r} is not alphanumeric (path separators, '..', '_' and spaces are not allowed)")
        elif pid_str in seen:
            problems.append(f"patient id {pid_str!r} appears more than once")
        seen.add(pid_str)
    if problems:
        raise ValueError("invalid cohort: " + "; ".join(problems))


def check_file(patient: str, path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(patient, path, "file does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(patient, path, "file is empty")
    return path


def load_image(patient: str, path) -> tuple[np.ndarray, np.ndarray]:
    """Load and check a NIfTI image: readable, complete, 3D, finite."""
    path = check_file(patient, path)
    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)  # reads every byte: finds truncation
    except (OSError, EOFError, zlib.error, ValueError, nib.filebasedimages.ImageFileError) as exc:
        raise InputError(patient, path, f"not a readable NIfTI image ({type(exc).__name__}: {exc})") from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError(patient, path, f"expected a 3D image, found {data.ndim}D with shape {data.shape}")
    if min(data.shape) < 2:
        raise InputError(patient, path, f"image has a degenerate shape {data.shape}")
    check_finite(patient, path, data)
    return data, img.affine.copy()


def check_finite(patient: str, path, data: np.ndarray) -> None:
    if np.issubdtype(data.dtype, np.floating):
        bad = ~np.isfinite(data)
        if bad.any():
            raise InputError(patient, path, f"{int(bad.sum())} of {data.size} voxels are NaN or Inf")


def check_mask(patient: str, path, mask: np.ndarray, affine, ref_shape, ref_affine, ref_name: str) -> np.ndarray:
    """A lesion mask must be binary and lie on its reference image's grid."""
    if tuple(mask.shape) != tuple(ref_shape):
        raise InputError(patient, path, f"mask shape {mask.shape} differs from the {ref_name} image's {tuple(ref_shape)}")
    if not np.allclose(affine, ref_affine, atol=1e-3):
        raise InputError(patient, path, f"mask affine differs from the {ref_name} image's: the mask is on another grid")
    values = np.unique(mask)
    if not set(values.tolist()) <= {0, 1}:
        shown = ", ".join(f"{v:g}" for v in values[:6]) + (", ..." if len(values) > 6 else "")
        raise InputError(patient, path, f"mask is not binary (values {shown}); expected 0 and 1")
    return mask.astype(np.uint8)
