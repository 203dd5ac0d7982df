"""Write a NIfTI volume as a DICOM MR series (one file per slice).

Used to give the synthetic cohort a DICOM form (and by the tests): the
geometry of the NIfTI, oblique or not, becomes ImagePositionPatient /
ImageOrientationPatient / PixelSpacing exactly. Pixel (row r, column c) of
slice k is voxel (c, r, k).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import MRImageStorage, ExplicitVRLittleEndian, generate_uid

from .convert import LPS_TO_RAS


def write_series(volume: np.ndarray, affine: np.ndarray, folder, description: str, study: dict, series_number: int, modality: str = "MR") -> list[Path]:
    """``study``: PatientName, PatientID, StudyInstanceUID, FrameOfReferenceUID, StudyDate."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = np.clip(np.rint(volume), 0, 65535).astype(np.uint16)
    lin = np.asarray(affine)[:3, :3]
    row_dir = LPS_TO_RAS @ lin[:, 0] / np.linalg.norm(lin[:, 0])  # along columns index c = i
    col_dir = LPS_TO_RAS @ lin[:, 1] / np.linalg.norm(lin[:, 1])  # along rows index r = j
    spacing = [float(np.linalg.norm(lin[:, 1])), float(np.linalg.norm(lin[:, 0]))]
    series_uid = generate_uid()
    paths = []
    for k in range(data.shape[2]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = MRImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        path = folder / f"{series_number:03d}_{k + 1:04d}.dcm"
        ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID = MRImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.Modality = modality
        ds.SeriesDescription = description
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = series_number
        ds.InstanceNumber = k + 1
        for key in ("PatientName", "PatientID", "StudyInstanceUID", "FrameOfReferenceUID", "StudyDate"):
            setattr(ds, key, study[key])
        ds.StudyID = "1"
        ds.AccessionNumber = ""
        ds.ReferringPhysicianName = ""
        ds.PatientBirthDate = ""
        ds.PatientSex = ""
        ds.Manufacturer = "brainmets phantom"
        ds.StudyTime = ds.SeriesTime = "120000"
        position = LPS_TO_RAS @ (affine @ np.array([0.0, 0.0, k, 1.0]))[:3]
        ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in (*row_dir, *col_dir)]
        ds.PixelSpacing = [f"{v:.6f}" for v in spacing]
        ds.SliceThickness = f"{float(np.linalg.norm(lin[:, 2])):.6f}"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = data.shape[1], data.shape[0]
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.PixelData = np.ascontiguousarray(data[:, :, k].T).tobytes()
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def new_study(patient_id: str) -> dict:
    return {
        "PatientName": f"Phantom^{patient_id}",
        "PatientID": patient_id,
        "StudyInstanceUID": generate_uid(),
        "FrameOfReferenceUID": generate_uid(),
        "StudyDate": "20200101",
    }
