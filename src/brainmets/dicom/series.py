"""Find the MR series of a folder and check that each is a clean volume.

A study folder may hold any number of series in any file layout; files are
grouped by SeriesInstanceUID. A series is accepted only when it is MR,
single-frame slices with one orientation, one slice per position, evenly
spaced: anything else is an error naming the patient, series and problem,
because a silently wrong volume would be worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from ..errors import NamedError


class DicomError(NamedError):
    def __init__(self, patient: str, where, problem: str):
        super().__init__(f"patient '{patient}', {where}: {problem}")


@dataclass
class Series:
    uid: str
    description: str
    modality: str
    files: list[Path] = field(default_factory=list)

    def label(self) -> str:
        return f"series '{self.description}' ({self.uid})"


def find_series(patient: str, folder) -> list[Series]:
    """Every DICOM series under ``folder`` (files that are not DICOM are ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DicomError(patient, f"folder {folder}", "does not exist")
    series: dict[str, Series] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, EOFError):
            continue
        uid = str(getattr(ds, "SeriesInstanceUID", "") or "")
        if not uid:
            continue
        s = series.setdefault(uid, Series(uid, str(getattr(ds, "SeriesDescription", "") or ""), str(getattr(ds, "Modality", ""))))
        s.files.append(path)
    if not series:
        raise DicomError(patient, f"folder {folder}", "contains no DICOM files")
    return sorted(series.values(), key=lambda s: (s.description, s.uid))


def check_series(patient: str, series: Series, tolerance_mm: float = 0.01) -> dict:
    """Geometry of a series, after checking it is one clean MR volume."""
    where = series.label()
    if series.modality != "MR":
        raise DicomError(patient, where, f"modality is {series.modality or 'missing'}, not MR")
    headers = [pydicom.dcmread(f, stop_before_pixels=True) for f in series.files]
    for ds in headers:
        for key in ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing"):
            if key not in ds:
                raise DicomError(patient, where, f"file {Path(ds.filename).name} has no {key}")
    orientations = np.array([[float(v) for v in ds.ImageOrientationPatient] for ds in headers])
    if np.abs(orientations - orientations[0]).max() > 1e-4:
        raise DicomError(patient, where, "slices have different orientations")
    row, col = orientations[0][:3], orientations[0][3:]
    normal = np.cross(row, col)
    positions = np.array([[float(v) for v in ds.ImagePositionPatient] for ds in headers])
    along = positions @ normal
    order = np.argsort(along)
    along = along[order]
    gaps = np.diff(along)
    if len(headers) < 2:
        raise DicomError(patient, where, "has a single slice, not a volume")
    if np.any(gaps < tolerance_mm):
        raise DicomError(patient, where, f"{int(np.sum(gaps < tolerance_mm))} duplicated slice position(s)")
    spacing = float(np.median(gaps))
    if np.abs(gaps - spacing).max() > max(tolerance_mm, 0.01 * spacing):
        worst = float(gaps[np.argmax(np.abs(gaps - spacing))])
        kind = "missing slice(s)" if worst > 1.5 * spacing else "inconsistent slice spacing"
        raise DicomError(patient, where, f"{kind}: gap of {worst:.3f} mm where {spacing:.3f} mm is expected")
    # Slices must also line up: each position is the previous one moved along the normal.
    lateral = positions[order] - np.outer(along, normal)
    if np.abs(lateral - lateral[0]).max() > max(tolerance_mm, 0.01 * spacing):
        raise DicomError(patient, where, "slice positions do not lie on one line along the slice normal")
    shapes = {(int(ds.Rows), int(ds.Columns)) for ds in headers}
    if len(shapes) != 1:
        raise DicomError(patient, where, f"slices have different sizes {sorted(shapes)}")
    return {
        "slices": len(headers),
        "slice_spacing_mm": spacing,
        "pixel_spacing_mm": [float(v) for v in headers[0].PixelSpacing],
        "orientation": orientations[0].tolist(),
        "files": [str(series.files[i]) for i in order],
    }
