"""What an image header claims, checked before a voxel is read
(``cohort.header``): size, orientation, field of view, canonical order."""

import gzip

import nibabel as nib
import numpy as np

from brainmets.cohort.header import canonical, field_of_view_problem, header_problem, orientation_problem, size_problem

AFFINE = np.diag([1.0, 1.0, 1.2, 1.0])


def _image(path, shape=(80, 90, 60), affine=np.diag([2.0, 2.0, 2.4, 1.0]), codes=(1, 1)):
    # Noise: a file that compresses no better than a scan.
    img = nib.Nifti1Image(np.random.default_rng(0).random(shape, np.float32), affine)
    img.set_qform(affine, code=codes[0])
    img.set_sform(affine, code=codes[1])
    nib.save(img, str(path))
    return path


def test_a_head_scan_passes(tmp_path):
    path = _image(tmp_path / "t1.nii.gz")
    assert header_problem(path, nib.load(str(path))) is None


def test_a_truncated_file_is_caught_from_its_header(tmp_path):
    path = _image(tmp_path / "t1.nii", shape=(64, 64, 32))
    path.write_bytes(path.read_bytes()[:100_000])
    assert "the file holds 100.0 kB: it is truncated" in size_problem(path, nib.load(str(path)).header)
    gz = tmp_path / "t1.nii.gz"
    gz.write_bytes(gzip.compress(_image(tmp_path / "whole.nii", shape=(64, 64, 32)).read_bytes()[:200_000]))
    assert "decompresses to 200.0 kB: it is truncated" in size_problem(gz, nib.load(str(gz)).header)


def test_a_header_claiming_gigavoxels_is_refused(tmp_path):
    path = _image(tmp_path / "t1.nii", shape=(8, 8, 8))
    header = nib.load(str(path)).header.copy()
    header.set_data_shape((4096, 4096, 4096))
    assert "more than the 268 million voxels of any head MRI" in size_problem(path, header)


def test_orientation_must_be_stated_and_a_rotation(tmp_path):
    path = _image(tmp_path / "t1.nii.gz", codes=(0, 0))
    img = nib.load(str(path))
    assert "qform_code and sform_code are both 0" in orientation_problem(img.header, img.affine)
    sheared = AFFINE.copy()
    sheared[0, 1] = 0.2
    header = nib.load(str(_image(tmp_path / "ok.nii.gz"))).header
    assert "not orthonormal" in orientation_problem(header, sheared)


def test_the_field_of_view_is_that_of_a_head():
    assert field_of_view_problem((160, 180, 120), AFFINE) is None
    assert "is not head-sized" in field_of_view_problem((64, 64, 40), AFFINE)  # 64 mm: a finger, not a head
    assert field_of_view_problem((256, 256, 2), np.diag([0.9, 0.9, 5.0, 1.0])) is None  # a thin slab of a head


def test_canonical_order_is_the_same_image_whatever_the_storage():
    rng = np.random.default_rng(0)
    data = rng.random((4, 5, 6)).astype(np.float32)
    mirrored = AFFINE @ np.array([[-1, 0, 0, 3], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])
    a, affine_a = canonical(data, AFFINE)
    b, affine_b = canonical(data[::-1], mirrored)
    assert np.array_equal(a, b) and np.allclose(affine_a, affine_b)
