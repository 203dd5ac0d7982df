"""A phantom patient's four sequences written as a DICOM study (module
fixtures, for the tests of the series, their conversion and the exports)."""

import nibabel as nib
import numpy as np
import pytest

from brainmets.dicom.convert import convert_series
from brainmets.dicom.export import export_lesions
from brainmets.dicom.series import find_series
from brainmets.dicom.synthetic import new_study, write_series
from brainmets.geometry import resample_to_grid
from brainmets.phantom.generate import phantom_paths
from brainmets.sequences import SEQUENCES

DESCRIPTIONS = {"T1pre": "Sag CUBE T1 PRE", "T1gd": "Sag CUBE T1 POST GD", "BRAVO": "Ax BRAVO POST", "FLAIR": "Sag CUBE FLAIR"}


@pytest.fixture(scope="session")
def study(tiny_patients, tmp_path_factory):
    _, out = tiny_patients["003"]
    paths = phantom_paths(out, "003")
    root = tmp_path_factory.mktemp("dicom") / "study"
    info = new_study("PH003")
    for n, seq in enumerate(SEQUENCES, start=1):
        img = nib.load(str(paths[seq]))
        write_series(np.asarray(img.dataobj), img.affine, root / seq, DESCRIPTIONS[seq], info, n)
    return root, paths, info


@pytest.fixture(scope="session")
def exported(study, tmp_path_factory):
    root, paths, info = study
    out = tmp_path_factory.mktemp("export")
    bravo_files = sorted((root / "BRAVO").glob("*.dcm"))
    (series,) = find_series("p3", root / "BRAVO")
    convert_series("p3", series, out / "bravo.nii.gz")
    converted = nib.load(str(out / "bravo.nii.gz"))
    # The ground-truth lesions, moved onto the converted grid, play the prediction.
    truth = nib.load(str(paths["lesions"]))
    mask = resample_to_grid(np.asarray(truth.dataobj, np.float32), truth.affine, converted.shape, converted.affine, order=0) > 0.5
    result = export_lesions(mask, converted.affine, bravo_files, out, "sub-p3", patient="p3")
    return result, mask, converted.affine, bravo_files, info
