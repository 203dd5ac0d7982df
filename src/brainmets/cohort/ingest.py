"""Bring one patient, from any source, into the workflow's internal form.

    cohort/sub-<id>/anat/sub-<id>_<seq>.nii.gz    the four sequences
    cohort/sub-<id>/anat/sub-<id>_lesions.nii.gz  binary lesion mask (if labelled)
    cohort/sub-<id>/sub-<id>_lesions.tsv          one row per lesion
    cohort/sub-<id>/sub-<id>_patient.json         metadata, subgroup, input checksums

Inputs are only read, never modified.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from ..lesions import LESION_COLUMNS, LesionInstances, lesion_table_from_mask
from ..niio import atomic_write_text, file_sha256, save_nifti, spacing_mm
from ..sequences import SEQUENCES, patient_grid, subgroup_of
from . import brainmetshare, brats
from .sheet import PatientRecord
from .validate import InputError, check_content, check_finite, check_mask, check_overlap, load_image

log = logging.getLogger(__name__)


def _read(record: PatientRecord, path: Path, sidecars: dict | None = None, seq: str = "") -> tuple[np.ndarray, np.ndarray]:
    if path.is_dir() and record.source == "brainmetshare":
        data, affine = brainmetshare.read_slice_folder(record.patient_id, path)
        check_finite(record.patient_id, path, data)
        return data, affine
    if path.is_dir():  # a DICOM series folder (cohort sheet)
        data, affine, sidecar = read_dicom_folder(record.patient_id, path)
        if sidecars is not None:
            sidecars[seq] = sidecar
        return data, affine
    return load_image(record.patient_id, path)


def read_dicom_folder(pid: str, folder: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """One DICOM series, converted with dcm2niix and checked; its sidecar."""
    import tempfile

    from ..dicom.convert import convert_series
    from ..dicom.series import DicomError, find_series

    series = find_series(pid, folder)
    if len(series) != 1:
        names = ", ".join(repr(s.description) for s in series)
        raise DicomError(pid, f"folder {folder}", f"{len(series)} series where one is expected: {names}")
    with tempfile.TemporaryDirectory(prefix="ingest-") as tmp:
        sidecar = convert_series(pid, series[0], Path(tmp) / "series.nii.gz")
        data, affine = load_image(pid, Path(tmp) / "series.nii.gz")
    return data, affine, sidecar


def ingest_patient(
    record: PatientRecord, files: dict, instances: LesionInstances = LesionInstances(), sequences=None, reference: str | None = None
) -> dict:
    """Validate every input of one patient, then write its internal form to
    ``files`` (the caller's names: one per sequence, ``lesions`` when the
    patient is labelled, ``lesion_table`` and ``patient``).

    ``instances``: what counts as one lesion (Table 1, the subgroups);
    ``sequences``: those the workflow uses (default: all the record has);
    ``reference``: the grid the lesion mask must lie on (default: BRAVO,
    else T1gd: ``patient_grid``). Everything is checked before
    anything is written, so a bad patient leaves no partial output behind.
    """
    pid = record.patient_id
    sequences = [seq for seq in SEQUENCES if seq in (sequences or record.images)]
    absent = [seq for seq in sequences if seq not in record.images]
    if absent:
        raise InputError(pid, "cohort", f"no {', '.join(absent)} image given")
    reference = reference or patient_grid(sequences).reference
    images, sidecars = {}, {}
    for seq in sequences:
        log.info("patient %s: reading %s from %s", pid, seq, record.images[seq])
        images[seq] = _read(record, Path(record.images[seq]), sidecars, seq)
        check_content(pid, record.images[seq], images[seq][0])
    check_overlap(pid, {seq: (record.images[seq], data.shape, affine) for seq, (data, affine) in images.items()}, reference)
    ref_data, ref_affine = images[reference]
    mask = None if record.lesions is None else _lesion_mask(record, ref_data.shape, ref_affine, reference)

    paths = {key: Path(path) for key, path in files.items()}
    summary = _write_images(record, images, sidecars, paths)
    if mask is not None:
        save_nifti(paths["lesions"], mask, ref_affine)
        table = lesion_table_from_mask(mask, ref_affine, instances)
    else:
        table = None
    text = (table if table is not None else _empty_table()).to_csv(sep="\t", index=False, float_format="%.4f")
    atomic_write_text(paths["lesion_table"], text)

    n_lesions = None if table is None else int(len(table))
    patient = {
        "patient_id": pid,
        "source": record.source,
        "labelled": mask is not None,
        "n_lesions": n_lesions,
        "subgroup": None if n_lesions is None else subgroup_of(n_lesions),
        "lesion_connectivity": instances.connectivity,
        "lesion_join_mm": instances.join_mm,
        "lesion_min_volume_mm3": instances.min_volume_mm3,
        "lesions_source": str(record.lesions) if record.lesions else None,
        "metadata": record.metadata,
        "reference": reference,
        # Given but left out: another patient of the cohort lacks it.
        "sequences_not_used": [seq for seq in SEQUENCES if seq in record.images and seq not in sequences],
        "images": summary,
    }
    atomic_write_text(paths["patient"], json.dumps(patient, indent=2))
    return patient


def _lesion_mask(record: PatientRecord, ref_shape, ref_affine, reference: str) -> np.ndarray:
    """The record's lesion mask, binary in the source's convention, checked
    to lie on the ``reference`` grid."""
    pid = record.patient_id
    raw_mask, mask_affine = _read(record, Path(record.lesions))
    if record.source == "brainmetshare":
        raw_mask = brainmetshare.binarise_mask(raw_mask)
    elif record.source == "brats":
        labels = record.metadata.get("lesion_labels", brats.DEFAULT_LESION_LABELS)
        raw_mask = brats.lesion_mask(pid, record.lesions, raw_mask, labels, record.metadata.get("naming"))
    mask = check_mask(pid, record.lesions, raw_mask, mask_affine, ref_shape, ref_affine, reference)
    if not mask.any():
        log.warning("patient %s: lesion mask %s is empty", pid, record.lesions)
    return mask


def _write_images(record: PatientRecord, images: dict, sidecars: dict, paths: dict) -> dict:
    """Write the checked images (floating point as float32); what each was
    and came from, by sequence."""
    summary = {}
    for seq, (data, affine) in images.items():
        if np.issubdtype(data.dtype, np.floating) and data.dtype != np.float32:
            data = data.astype(np.float32)
        save_nifti(paths[seq], data, affine)
        summary[seq] = {
            "source": str(record.images[seq]),
            "sha256": file_sha256(record.images[seq]),
            "shape": list(data.shape),
            "spacing_mm": spacing_mm(affine).round(4).tolist(),
            "orientation": "".join(nib.aff2axcodes(affine)),
        }
        if seq in sidecars:  # dcm2niix's BIDS sidecar of a DICOM input
            summary[seq]["dicom_sidecar"] = sidecars[seq]
    return summary


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(columns=LESION_COLUMNS)


__all__ = ["InputError", "ingest_patient"]
