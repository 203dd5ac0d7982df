"""Every kind of bad input fails with the patient, the file and the problem."""

import gzip

import nibabel as nib
import numpy as np
import pytest

from brainmets.cohort.header import canonical
from brainmets.layout import ingested_files
from tests.ingested import ingest_into
from brainmets.cohort.sheet import PatientRecord
from brainmets.cohort.validate import InputError, check_patient_ids
from brainmets.sequences import SEQUENCES

# Voxels of 10-12 mm: a head-sized field of view (the inputs' gate) in a few voxels.
AFFINE = np.array([[0, 0, 12.0, -30], [-10.0, 0, 0, 40], [0, 11.0, 0, -20], [0, 0, 0, 1]])
OTHER_GRID = AFFINE + np.array([[0, 0, 0, 5.0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])  # 5 mm off


def _write(path, data, affine=AFFINE):
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


@pytest.fixture
def good_record(tmp_path):
    rng = np.random.default_rng(0)
    images = {seq: _write(tmp_path / f"{seq}.nii.gz", rng.random((12, 10, 8)).astype(np.float32)) for seq in SEQUENCES}
    mask = np.zeros((12, 10, 8), np.uint8)
    mask[3:5, 3:5, 3:5] = 1
    lesions = _write(tmp_path / "mask.nii.gz", mask)
    return PatientRecord("p01", images, lesions)


def _fails(record, tmp_path, match):
    out = tmp_path / "cohort"
    with pytest.raises(InputError, match=match) as info:
        ingest_into(record, out)
    assert "patient 'p01'" in str(info.value)
    assert not (out / "sub-p01").exists(), "a failed patient must leave nothing behind"
    return info.value


def test_good_patient_is_ingested_unmodified(good_record, tmp_path):
    before = {p: p.read_bytes() for p in good_record.input_paths()}
    patient = ingest_into(good_record, tmp_path / "cohort")
    assert patient["n_lesions"] == 1 and patient["subgroup"] == "1-3"
    paths = ingested_files(tmp_path / "cohort", "p01")
    assert all(paths[k].exists() for k in (*SEQUENCES, "lesions", "lesion_table", "patient"))
    np.testing.assert_allclose(nib.load(str(paths["FLAIR"])).affine, canonical(np.zeros((12, 10, 8)), AFFINE)[1])
    assert {p: p.read_bytes() for p in good_record.input_paths()} == before


def test_missing_file(good_record, tmp_path):
    good_record.images["FLAIR"] = tmp_path / "nope.nii.gz"
    err = _fails(good_record, tmp_path, "does not exist")
    assert "nope.nii.gz" in err.file


def test_empty_file(good_record, tmp_path):
    (tmp_path / "empty.nii.gz").write_bytes(b"")
    good_record.images["T1pre"] = tmp_path / "empty.nii.gz"
    _fails(good_record, tmp_path, "empty")


def test_truncated_file(good_record, tmp_path):
    raw = good_record.images["T1gd"].read_bytes()
    (tmp_path / "cut.nii.gz").write_bytes(raw[: len(raw) // 2])
    good_record.images["T1gd"] = tmp_path / "cut.nii.gz"
    err = _fails(good_record, tmp_path, "not a readable NIfTI")
    assert err.file.endswith("cut.nii.gz")


def test_not_nifti(good_record, tmp_path):
    (tmp_path / "text.nii.gz").write_bytes(gzip.compress(b"hello world" * 100))
    good_record.images["T1gd"] = tmp_path / "text.nii.gz"
    _fails(good_record, tmp_path, "not a readable NIfTI")


def test_4d_image(good_record, tmp_path):
    good_record.images["BRAVO"] = _write(tmp_path / "4d.nii.gz", np.zeros((12, 10, 8, 3), np.float32))
    _fails(good_record, tmp_path, "3D image, found 4D")


def test_4d_with_single_volume_is_accepted(good_record, tmp_path):
    volume = np.random.default_rng(1).random((12, 10, 8, 1)).astype(np.float32)
    good_record.images["T1pre"] = _write(tmp_path / "one.nii.gz", volume)
    ingest_into(good_record, tmp_path / "cohort")
    written = nib.load(str(ingested_files(tmp_path / "cohort", "p01")["T1pre"]))
    # The single volume, as 3D (in canonical voxel order).
    np.testing.assert_array_equal(np.asarray(written.dataobj), canonical(volume[..., 0], AFFINE)[0])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_voxels(good_record, tmp_path, bad):
    data = np.ones((12, 10, 8), np.float32)
    data[1, 2, 3] = bad
    good_record.images["FLAIR"] = _write(tmp_path / "nan.nii.gz", data)
    _fails(good_record, tmp_path, "1 of 960 voxels are NaN or Inf")


def test_mask_on_other_grid(good_record, tmp_path):
    good_record.lesions = _write(tmp_path / "m.nii.gz", np.zeros((12, 10, 9), np.uint8))
    _fails(good_record, tmp_path, "mask shape")
    good_record.lesions = _write(tmp_path / "m2.nii.gz", np.zeros((12, 10, 8), np.uint8), OTHER_GRID)
    _fails(good_record, tmp_path, "mask affine differs")


def test_non_binary_mask(good_record, tmp_path):
    mask = np.zeros((12, 10, 8), np.uint8)
    mask[1, 1, 1], mask[5, 5, 5] = 1, 2
    good_record.lesions = _write(tmp_path / "labels.nii.gz", mask)
    _fails(good_record, tmp_path, "not binary")


@pytest.mark.parametrize(
    "ids,match",
    [
        (["a1", "a1"], "more than once"),
        (["../etc"], "not alphanumeric"),
        (["sub/01"], "not alphanumeric"),
        (["p_01"], "not alphanumeric"),
        ([""], "not alphanumeric"),
    ],
)
def test_unsafe_or_duplicate_ids(ids, match):
    with pytest.raises(ValueError, match=match):
        check_patient_ids(ids)
