"""The predicted lesions as DICOM-SEG (highdicom) and RTSTRUCT (rt-utils).

Both reference the source post-contrast series (the BRAVO), frame by frame,
so a viewer or planning system opens them over it. There is one segment /
ROI per lesion, named with its id and volume, and one for all lesions.
Patient and study identifiers are copied from the source; nothing is added
that the source did not carry. ``deidentify`` replaces the patient's name
and id with a pseudonym and blanks birth date, sex, age and accession
number in the outputs (UIDs stay, so the outputs still reference the
source series; de-identify the source images with the same pseudonym to
share them together).
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.sr.codedict import codes

from .. import __version__
from ..lesions import connected_components
from .convert import frame_indices

PHI_BLANKED = ("PatientBirthDate", "PatientSex", "PatientAge", "AccessionNumber", "OtherPatientIDs")


def pseudonym(patient_id: str, salt: str) -> str:
    return "anon-" + hashlib.sha256(f"{salt}:{patient_id}".encode()).hexdigest()[:12]


def deidentify_dataset(ds, name: str) -> None:
    ds.PatientName = name
    ds.PatientID = name
    for key in PHI_BLANKED:
        if key in ds:
            setattr(ds, key, "")


def lesion_frames(mask: np.ndarray, affine, source, connectivity: int = 26, patient: str = "", where: str = "") -> tuple[np.ndarray, list[dict]]:
    """(frames, rows, cols, 1 + lesions) booleans in source order: segment 0
    all lesions, then one per lesion; and the lesions' ids and volumes."""
    labels, n = connected_components(mask, connectivity)
    voxel_mm3 = float(abs(np.linalg.det(np.asarray(affine)[:3, :3])))
    indices = frame_indices(source, affine, labels.shape, patient, where)
    per_frame = np.stack([labels[i, j, k] for i, j, k in indices])
    frames = np.zeros(per_frame.shape + (n + 1,), bool)
    frames[..., 0] = per_frame > 0
    lesions = []
    for lesion in range(1, n + 1):
        frames[..., lesion] = per_frame == lesion
        lesions.append({"id": lesion, "volume_mm3": float((labels == lesion).sum() * voxel_mm3)})
    return frames, lesions


def segment_names(lesions: list[dict]) -> list[str]:
    return ["all lesions"] + [f"lesion {l['id']} ({l['volume_mm3']:.0f} mm3)" for l in lesions]


def write_seg(source, frames: np.ndarray, names: list[str], out_path, deidentify: str | None = None) -> None:
    algorithm = hd.AlgorithmIdentificationSequence(name="brainmets", version=__version__, family=codes.cid7162.ArtificialIntelligence)
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=i + 1,
            segment_label=name,
            segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
            segmented_property_type=codes.SCT.Neoplasm,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        )
        for i, name in enumerate(names)
    ]
    seg = hd.seg.Segmentation(
        source_images=source,
        pixel_array=frames,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=9001,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="brainmets",
        manufacturer_model_name="brainmets-predict",
        software_versions=__version__,
        device_serial_number="none",
        series_description="brainmets lesions (SEG)",
    )
    if deidentify:
        deidentify_dataset(seg, deidentify)
    seg.save_as(out_path)


def write_rtstruct(source_files, frames_by_file: dict, names: list[str], out_path, deidentify: str | None = None) -> None:
    from rt_utils import RTStructBuilder

    with tempfile.TemporaryDirectory(prefix="rtstruct-") as tmp:
        for i, f in enumerate(source_files):  # rt-utils reads a folder holding only the series
            (Path(tmp) / f"{i:05d}.dcm").symlink_to(Path(f).resolve())
        rtstruct = RTStructBuilder.create_new(dicom_series_path=tmp)
        order = [str(ds.SOPInstanceUID) for ds in rtstruct.series_data]
        for s, name in enumerate(names):
            volume = np.stack([frames_by_file[uid][..., s] for uid in order], axis=-1)
            if volume.any():
                rtstruct.add_roi(mask=volume, name=name)
        rtstruct.ds.SeriesDescription = "brainmets lesions (RTSTRUCT)"
        if deidentify:
            deidentify_dataset(rtstruct.ds, deidentify)
        rtstruct.save(str(out_path))


def export_lesions(mask: np.ndarray, affine, source_files, out_dir, stem: str, patient: str = "", deidentify: str | None = None, connectivity: int = 26) -> dict:
    """Write ``<stem>_seg.dcm`` and ``<stem>_rtstruct.dcm``; return paths and segment names."""
    source = sorted((pydicom.dcmread(f) for f in source_files), key=lambda ds: int(ds.InstanceNumber))
    frames, lesions = lesion_frames(mask, affine, source, connectivity, patient, "source series")
    names = segment_names(lesions)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seg_path, rt_path = out_dir / f"{stem}_seg.dcm", out_dir / f"{stem}_rtstruct.dcm"
    if frames[..., 0].any():
        write_seg(source, frames, names, seg_path, deidentify)
    else:
        seg_path = None  # a SEG needs at least one segmented voxel
    by_uid = {str(ds.SOPInstanceUID): frames[i] for i, ds in enumerate(source)}
    write_rtstruct([ds.filename for ds in source], by_uid, names, rt_path, deidentify)
    return {"seg": seg_path, "rtstruct": rt_path, "segments": names, "lesions": lesions}
