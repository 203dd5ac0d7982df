"""A DICOM series converted to NIfTI (``dicom.convert``): oblique geometry
kept exactly, and a broken series refused, naming the patient, with
nothing written."""

import shutil

import nibabel as nib
import numpy as np
import pydicom
import pytest

from brainmets.dicom.convert import convert_series
from brainmets.dicom.series import DicomError, find_series

from .conftest import DESCRIPTIONS


@pytest.mark.parametrize("seq", ["BRAVO", "FLAIR"])
def test_conversion_keeps_oblique_geometry_exactly(study, seq, tmp_path):
    root, paths, _ = study
    (series,) = find_series("p3", root / seq)
    sidecar = convert_series("p3", series, tmp_path / "out.nii.gz", tmp_path / "out.json")
    original = nib.load(str(paths[seq]))
    converted = nib.load(str(tmp_path / "out.nii.gz"))
    assert (tmp_path / "out.json").exists() and sidecar["SeriesDescription"] == DESCRIPTIONS[seq]
    # Every voxel centre of the original lands on a converted voxel centre with the same value.
    src = np.asarray(original.dataobj)
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in src.shape], indexing="ij"), -1).reshape(-1, 3)
    world = grid @ original.affine[:3, :3].T + original.affine[:3, 3]
    inv = np.linalg.inv(converted.affine)
    idx = world @ inv[:3, :3].T + inv[:3, 3]
    assert np.abs(idx - np.rint(idx)).max() < 1e-3
    idx = np.rint(idx).astype(int)
    np.testing.assert_array_equal(np.asarray(converted.dataobj)[idx[:, 0], idx[:, 1], idx[:, 2]], np.clip(np.rint(src), 0, 65535).reshape(-1))


def _copy(study, tmp_path, seq="BRAVO"):
    folder = tmp_path / seq
    shutil.copytree(study[0] / seq, folder)
    return folder


def _check(folder, match):
    with pytest.raises(DicomError, match=match) as err:
        (series,) = find_series("p9", folder)
        convert_series("p9", series, folder.parent / "x.nii.gz")
    assert "patient 'p9'" in str(err.value)
    assert not (folder.parent / "x.nii.gz").exists()


def test_missing_slice(study, tmp_path):
    folder = _copy(study, tmp_path)
    sorted(folder.glob("*.dcm"))[5].unlink()
    _check(folder, "missing slice")


def test_duplicated_slice(study, tmp_path):
    folder = _copy(study, tmp_path)
    files = sorted(folder.glob("*.dcm"))
    ds = pydicom.dcmread(files[3])
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(folder / "extra.dcm")
    _check(folder, "duplicated slice position")


def test_inconsistent_spacing(study, tmp_path):
    folder = _copy(study, tmp_path)
    files = sorted(folder.glob("*.dcm"))
    for f in files[len(files) // 2 :]:
        ds = pydicom.dcmread(f)
        normal = np.cross(np.array(ds.ImageOrientationPatient[:3], float), np.array(ds.ImageOrientationPatient[3:], float))
        ds.ImagePositionPatient = [f"{v:.6f}" for v in np.array(ds.ImagePositionPatient, float) + 0.3 * normal]
        ds.save_as(f)
    _check(folder, "inconsistent slice spacing")


def test_inconsistent_orientation(study, tmp_path):
    folder = _copy(study, tmp_path)
    f = sorted(folder.glob("*.dcm"))[2]
    ds = pydicom.dcmread(f)
    ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
    ds.save_as(f)
    _check(folder, "different orientations")


def test_non_mr_modality(study, tmp_path):
    folder = _copy(study, tmp_path)
    for f in folder.glob("*.dcm"):
        ds = pydicom.dcmread(f)
        ds.Modality = "CT"
        ds.save_as(f)
    _check(folder, "modality is CT, not MR")
