"""DICOM series to NIfTI with dcm2niix, geometry checked against the headers.

dcm2niix (installed from PyPI with this package) writes the volume and its
BIDS JSON sidecar. Its output is then checked voxel-centre by voxel-centre
against the positions the DICOM headers give, so an oblique or sagittal
acquisition is known to keep its geometry exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom

from .series import DicomError, Series, check_series

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def dcm2niix_binary() -> str:
    found = shutil.which("dcm2niix")
    if found:
        return found
    try:
        from dcm2niix import bin as packaged  # the PyPI package ships the binary
    except ImportError:
        packaged = None
    if packaged and Path(packaged).exists():
        return str(packaged)
    raise FileNotFoundError("dcm2niix not found: pip install dcm2niix")


def slice_voxel_indices(ds, affine: np.ndarray) -> np.ndarray:
    """(rows, cols, 3) voxel indices, in a NIfTI with ``affine``, of the
    pixel centres of one DICOM slice."""
    row_dir = np.array([float(v) for v in ds.ImageOrientationPatient[:3]])
    col_dir = np.array([float(v) for v in ds.ImageOrientationPatient[3:]])
    dr, dc = (float(v) for v in ds.PixelSpacing)  # between rows, between columns
    origin = np.array([float(v) for v in ds.ImagePositionPatient])
    r, c = np.meshgrid(np.arange(int(ds.Rows)), np.arange(int(ds.Columns)), indexing="ij")
    lps = origin + c[..., None] * dc * row_dir + r[..., None] * dr * col_dir
    ras = lps @ LPS_TO_RAS.T
    inverse = np.linalg.inv(affine)
    return ras @ inverse[:3, :3].T + inverse[:3, 3]


def frame_indices(headers, affine, shape, patient: str, where: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Integer NIfTI indices of every pixel of every slice; an error when a
    pixel centre does not fall on a voxel centre (geometry not kept)."""
    out = []
    for ds in headers:
        idx = slice_voxel_indices(ds, affine)
        rounded = np.rint(idx)
        if np.abs(idx - rounded).max() > 1e-3 or (rounded < 0).any() or (rounded >= np.array(shape)).any():
            raise DicomError(patient, where, "converted volume does not match the DICOM slice geometry")
        i = rounded.astype(int)
        out.append((i[..., 0], i[..., 1], i[..., 2]))
    return out


def convert_series(patient: str, series: Series, out_nifti, out_json=None) -> dict:
    """Convert one checked series; returns the sidecar (with the slice check)."""
    geometry = check_series(patient, series)
    with tempfile.TemporaryDirectory(prefix="dcm2niix-") as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for i, f in enumerate(series.files):
            (src / f"{i:05d}.dcm").symlink_to(Path(f).resolve())
        result = subprocess.run(
            [dcm2niix_binary(), "-z", "y", "-b", "y", "-ba", "n", "-f", "converted", "-o", tmp, str(src)],
            capture_output=True, text=True, timeout=600,
        )
        niftis = sorted(Path(tmp).glob("converted*.nii.gz"))
        if result.returncode != 0 or len(niftis) != 1:
            raise DicomError(patient, series.label(), f"dcm2niix failed ({len(niftis)} volumes): {result.stdout[-300:]} {result.stderr[-300:]}")
        img = nib.load(str(niftis[0]))
        data = np.asarray(img.dataobj.get_unscaled())
        headers = [pydicom.dcmread(f) for f in geometry["files"]]
        indices = frame_indices(headers, img.affine, data.shape[:3], patient, series.label())
        for ds, (i, j, k) in zip(headers, indices):
            if not np.array_equal(data[i, j, k], ds.pixel_array.astype(data.dtype)):
                raise DicomError(patient, series.label(), f"converted voxels differ from slice {Path(ds.filename).name}")
        sidecar = json.loads(niftis[0].with_name("converted.json").read_text())
        Path(out_nifti).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(niftis[0], out_nifti)
    sidecar["SeriesInstanceUID"] = series.uid
    sidecar["brainmets_geometry_check"] = "every pixel centre of every slice on its voxel centre; values equal"
    if out_json:
        Path(out_json).write_text(json.dumps(sidecar, indent=2))
    return sidecar
