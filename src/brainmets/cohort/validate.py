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

from ..errors import CohortError, InputError  # noqa: F401 (InputError: re-exported)
from .header import canonical, header_problem

# BIDS labels are alphanumeric; this also rules out path separators and "..".
PATIENT_ID = re.compile(r"^[A-Za-z0-9]+$")


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
        raise CohortError("invalid cohort: " + "; ".join(problems))


def check_file(patient: str, path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(patient, path, "file does not exist")
    if path.is_file() and path.stat().st_size == 0:
        raise InputError(patient, path, "file is empty")
    return path


def load_image(patient: str, path) -> tuple[np.ndarray, np.ndarray]:
    """Load and check a NIfTI image: a header whose size, orientation and
    field of view can be true (checked before any voxel is read), readable,
    complete, 3D, finite; returned in canonical (closest to RAS) voxel order."""
    path = check_file(patient, path)
    try:
        img = nib.load(str(path))
    except (OSError, EOFError, zlib.error, ValueError, nib.filebasedimages.ImageFileError) as exc:
        raise InputError(patient, path, f"not a readable NIfTI image ({type(exc).__name__}: {exc})") from exc
    problem = header_problem(path, img)
    if problem:
        raise InputError(patient, path, problem)
    try:
        data = np.asanyarray(img.dataobj)  # reads every byte: finds truncation
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise InputError(patient, path, f"not a readable NIfTI image ({type(exc).__name__}: {exc})") from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError(patient, path, f"expected a 3D image, found {data.ndim}D with shape {data.shape}")
    if min(data.shape) < 2:
        raise InputError(patient, path, f"image has a degenerate shape {data.shape}")
    check_finite(patient, path, data)
    return canonical(data, img.affine.copy())


def check_content(patient: str, path, data: np.ndarray) -> None:
    """An image must show something: brain extraction and registration of a
    blank or constant image fail deep inside their tools, or worse, succeed."""
    lo, hi = float(np.min(data)), float(np.max(data))
    if lo == hi:
        raise InputError(patient, path, "every voxel is 0: the image is blank" if hi == 0 else f"every voxel is {hi:g}: the image is constant")


# Images of one head overlap almost wholly even when the patient moved
# between sequences; less than this fraction of the smaller field of view in
# common means another patient's, or a wrong, position.
MIN_OVERLAP = 0.5


def _world_box(shape, affine) -> tuple[np.ndarray, np.ndarray]:
    corners = np.array([[i, j, k] for i in (-0.5, shape[0] - 0.5) for j in (-0.5, shape[1] - 0.5) for k in (-0.5, shape[2] - 0.5)])
    world = corners @ np.asarray(affine)[:3, :3].T + np.asarray(affine)[:3, 3]
    return world.min(axis=0), world.max(axis=0)


def check_overlap(patient: str, images: dict, reference: str) -> None:
    """Every image's world extent must overlap the reference's; ``images``:
    name -> (path, shape, affine)."""
    ref_path, ref_shape, ref_affine = images[reference]
    ref_lo, ref_hi = _world_box(ref_shape, ref_affine)
    for name, (path, shape, affine) in images.items():
        if name == reference:
            continue
        lo, hi = _world_box(shape, affine)
        common = np.prod(np.clip(np.minimum(hi, ref_hi) - np.maximum(lo, ref_lo), 0, None))
        smaller = min(np.prod(hi - lo), np.prod(ref_hi - ref_lo))
        if common < MIN_OVERLAP * smaller:
            distance = np.linalg.norm((lo + hi) / 2 - (ref_lo + ref_hi) / 2)
            raise InputError(
                patient, path,
                f"{name} lies {distance:.0f} mm from the {reference} ({100 * common / smaller:.0f}% of the field of view in common): not the same head, or a wrong position in the header",
            )


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
