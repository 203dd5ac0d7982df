"""DICOM series found in a folder (``dicom.series``), as a cohort sheet
or brainmets-predict gives them: none, one, or more than one where one is
expected."""

import shutil

import nibabel as nib
import numpy as np
import pytest

from brainmets.dicom.series import DicomError, find_series
from brainmets.sequences import SEQUENCES

from .conftest import DESCRIPTIONS


def test_folder_without_dicom(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("hello")
    with pytest.raises(DicomError, match="patient 'p9'.*contains no DICOM files"):
        find_series("p9", tmp_path / "empty")


def test_cohort_sheet_column_may_be_a_dicom_folder(study, tmp_path):
    from brainmets.layout import ingested_files
    from tests.ingested import ingest_into
    from brainmets.cohort.sheet import PatientRecord

    root, paths, _ = study
    images = {seq: paths[seq] for seq in SEQUENCES}
    images["FLAIR"] = root / "FLAIR"  # the oblique sagittal series, as DICOM
    record = PatientRecord("p3", images, lesions=paths["lesions"])
    patient = ingest_into(record, tmp_path)
    assert patient["images"]["FLAIR"]["dicom_sidecar"]["SeriesDescription"] == DESCRIPTIONS["FLAIR"]
    ingested = nib.load(str(ingested_files(tmp_path, "p3")["FLAIR"]))
    original = nib.load(str(paths["FLAIR"]))
    # Same voxels in the same places (dcm2niix may order the axes differently).
    probe = np.array([[3, 4, 5], [10, 2, 7]])
    world = probe @ original.affine[:3, :3].T + original.affine[:3, 3]
    inv = np.linalg.inv(ingested.affine)
    idx = np.rint(world @ inv[:3, :3].T + inv[:3, 3]).astype(int)
    np.testing.assert_allclose(
        np.asarray(ingested.dataobj)[idx[:, 0], idx[:, 1], idx[:, 2]],
        np.clip(np.rint(np.asarray(original.dataobj)[probe[:, 0], probe[:, 1], probe[:, 2]]), 0, None),
    )


def test_two_series_in_a_sequence_folder_is_an_error(study, tmp_path):
    from tests.ingested import ingest_into
    from brainmets.cohort.sheet import PatientRecord

    root, paths, _ = study
    mixed = tmp_path / "mixed"
    shutil.copytree(root / "FLAIR", mixed)
    shutil.copytree(root / "T1pre", mixed / "other")
    images = {seq: paths[seq] for seq in SEQUENCES}
    images["FLAIR"] = mixed
    with pytest.raises(DicomError, match="2 series where one is expected"):
        ingest_into(PatientRecord("p3", images, lesions=paths["lesions"]), tmp_path / "cohort")
    assert not (tmp_path / "cohort").exists()
