"""Reader for the public Stanford BrainMetShare release.

Layout of the release: one folder per case, ``Mets_XXX``, under
``mets_stanford_release_train`` (with masks) or ``..._test`` (without), or
under ``stanford_release_brainmask/mets_stanford_releaseMask_train``. Each
case has the slice folders ``0`` (post-Gd T1 GRE = BRAVO), ``1`` (pre-Gd T1
spin echo), ``2`` (post-Gd T1 spin echo), ``3`` (FLAIR) and ``seg`` (0/255
mask), one 2D image per slice. A NIfTI mirror holds
``Mets_XXX/{bravo,t1_pre,t1_gd,flair,seg}.nii[.gz]`` instead.

Geometry of the slice folders, which carry none: axial slices of 256x256,
spacing taken as 0.94 x 0.94 x 1.0 mm; image rows run anterior to posterior,
columns patient right to left (radiological display), and slices, in
ascending file-number order, inferior to superior. The resulting array axes
are (column, row, slice) with orientation L, P, S. The release is already
co-registered and skull-stripped.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from .sheet import PatientRecord
from .validate import InputError, check_patient_ids

SLICE_FOLDERS = {"BRAVO": "0", "T1pre": "1", "T1gd": "2", "FLAIR": "3"}
MASK_FOLDER = "seg"
NIFTI_NAMES = {"BRAVO": "bravo", "T1pre": "t1_pre", "T1gd": "t1_gd", "FLAIR": "flair"}
SPACING_MM = (0.94, 0.94, 1.0)
_CASE = re.compile(r"^Mets_(\d+)$")


def slice_affine(shape) -> np.ndarray:
    affine = np.diag([-SPACING_MM[0], -SPACING_MM[1], SPACING_MM[2], 1.0])
    affine[:3, 3] = -affine[:3, :3] @ ((np.asarray(shape[:3]) - 1) / 2.0)
    return affine


def _nifti(case: Path, stem: str) -> Path | None:
    for suffix in (".nii.gz", ".nii"):
        if (case / f"{stem}{suffix}").exists():
            return case / f"{stem}{suffix}"
    return None


def _number(path: Path) -> int:
    digits = re.findall(r"\d+", path.stem)
    return int(digits[-1]) if digits else -1


def slice_files(folder: Path) -> list[Path]:
    files = [p for p in folder.iterdir() if p.suffix.lower() in (".png", ".tif", ".tiff", ".jpg")]
    return sorted(files, key=lambda p: (_number(p), p.name))


def read_slice_folder(patient: str, folder) -> tuple[np.ndarray, np.ndarray]:
    """Stack a folder of 2D slice images into a volume with its affine."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(patient, folder, "slice folder does not exist")
    files = slice_files(folder)
    if not files:
        raise InputError(patient, folder, "slice folder holds no images")
    slices = []
    for f in files:
        try:
            with Image.open(f) as im:
                arr = np.asarray(im.convert("I") if im.mode not in ("L", "I;16", "I") else im)
        except OSError as exc:
            raise InputError(patient, f, f"unreadable slice image ({exc})") from exc
        if arr.ndim == 3:
            arr = arr[..., 0]
        if slices and arr.shape != slices[0].shape:
            raise InputError(patient, f, f"slice shape {arr.shape} differs from {slices[0].shape}")
        slices.append(arr)
    # (row, column) images -> (column, row, slice) volume.
    volume = np.stack(slices, axis=-1).transpose(1, 0, 2)
    return volume, slice_affine(volume.shape)


def binarise_mask(mask: np.ndarray) -> np.ndarray:
    """The release stores masks as 0/255."""
    return (mask > 0).astype(np.uint8)


def discover(root) -> list[PatientRecord]:
    """Every case under ``root``, from slice folders or the NIfTI mirror."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"BrainMetShare folder {root} does not exist")
    cases = sorted((p for p in root.rglob("Mets_*") if p.is_dir() and _CASE.match(p.name)), key=lambda p: p.name)
    records = []
    for case in cases:
        pid = "Mets" + _CASE.match(case.name).group(1)
        split = "test" if "test" in case.parent.name.lower() else "train"
        if all((case / f).is_dir() for f in SLICE_FOLDERS.values()):
            images = {seq: case / folder for seq, folder in SLICE_FOLDERS.items()}
            seg = case / MASK_FOLDER
            lesions = seg if seg.is_dir() and slice_files(seg) else None
            layout = "slices"
        else:
            found = {seq: _nifti(case, stem) for seq, stem in NIFTI_NAMES.items()}
            if any(v is None for v in found.values()):
                continue  # not a case folder of either layout
            images = found
            lesions = _nifti(case, "seg")
            layout = "nifti"
        records.append(
            PatientRecord(
                patient_id=pid,
                images=images,
                lesions=lesions,
                metadata={"release_split": split, "layout": layout, "case": case.name, "preprocessed": True},
                source="brainmetshare",
            )
        )
    if not records:
        raise ValueError(f"no BrainMetShare case folders (Mets_XXX) found under {root}")
    check_patient_ids(r.patient_id for r in records)
    return records
