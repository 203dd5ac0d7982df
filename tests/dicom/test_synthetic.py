"""A NIfTI volume written as a DICOM MR series (``dicom.synthetic``), read
back by pydicom: one file per slice, the study's identifiers, the values."""

import numpy as np
import pydicom

from brainmets.dicom.synthetic import new_study, write_series


def test_one_file_per_slice_of_one_study(tmp_path):
    volume = np.arange(4 * 5 * 3, dtype=np.float32).reshape(4, 5, 3) * 10
    study = new_study("PH9")
    files = write_series(volume, np.diag([0.9, 0.9, 2.0, 1.0]), tmp_path / "s", "Ax BRAVO POST", study, 3)
    assert len(files) == 3
    slices = [pydicom.dcmread(f) for f in files]
    assert {ds.SeriesDescription for ds in slices} == {"Ax BRAVO POST"} and {ds.Modality for ds in slices} == {"MR"}
    assert {ds.StudyInstanceUID for ds in slices} == {study["StudyInstanceUID"]} and {ds.PatientID for ds in slices} == {"PH9"}
    assert len({ds.SOPInstanceUID for ds in slices}) == 3 and {int(ds.SeriesNumber) for ds in slices} == {3}
    # The largest value survives the integer storage.
    assert max(int(ds.pixel_array.max()) for ds in slices) == int(volume.max())
