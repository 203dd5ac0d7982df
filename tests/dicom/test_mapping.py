"""Series assigned to sequences by their descriptions (``dicom.mapping``)."""

import shutil

import pydicom
import pytest

from brainmets.dicom.mapping import map_series
from brainmets.dicom.series import DicomError, find_series
from brainmets.sequences import SEQUENCES

from .conftest import DESCRIPTIONS


def test_series_are_found_and_mapped(study):
    root, _, _ = study
    series = find_series("p3", root)
    chosen, table = map_series("p3", series)
    assert {seq: s.description for seq, s in chosen.items()} == DESCRIPTIONS
    assert sorted(table.sequence) == sorted(SEQUENCES)


def test_several_series_for_one_sequence(study, tmp_path):
    root = tmp_path / "study"
    shutil.copytree(study[0], root)
    for f in (root / "FLAIR").glob("*.dcm"):  # a second FLAIR series
        ds = pydicom.dcmread(f)
        ds.SeriesInstanceUID = "1.2.3.4.5"
        ds.SeriesDescription = "Ax FLAIR"
        ds.save_as(root / "T1pre" / f"copy_{f.name}")
    with pytest.raises(DicomError, match="several series match"):
        map_series("p3", find_series("p3", root))
