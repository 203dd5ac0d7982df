"""NIfTI reading and writing: round trips, reproducible bytes, atomic writes."""

import gzip
import hashlib
import os

import nibabel as nib
import numpy as np
import pytest

from brainmets import niio
from brainmets.geometry import rotation_matrix
from brainmets.niio import atomic_write_bytes, atomic_write_text, file_sha256, load_nifti, save_nifti, spacing_mm, voxel_volume_mm3


def _oblique_affine() -> np.ndarray:
    affine = np.eye(4)
    affine[:3, :3] = rotation_matrix((12.0, -30.0, 47.0)) @ np.diag([0.9, 1.1, 3.0])
    affine[:3, 3] = (-91.5, 120.25, -33.0)
    return affine


@pytest.mark.parametrize("name", ["image.nii.gz", "image.nii"])
def test_save_and_load_round_trip(tmp_path, name):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(5, 4, 3)).astype(np.float32)
    affine = _oblique_affine()
    path = tmp_path / "deeper" / name
    save_nifti(path, data, affine)
    loaded, loaded_affine = load_nifti(path)
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, data)
    np.testing.assert_allclose(loaded_affine, affine, atol=1e-5)
    img = nib.load(str(path))
    assert int(img.header["qform_code"]) == 1 and int(img.header["sform_code"]) == 1
    assert img.header.get_xyzt_units() == ("mm", "sec")
    np.testing.assert_allclose(img.get_qform(), affine, atol=1e-5)


def test_load_casts_to_the_dtype_asked_for(tmp_path):
    mask = np.zeros((4, 4, 4), np.uint8)
    mask[1:3, 2, 0] = 1
    save_nifti(tmp_path / "mask.nii.gz", mask, np.eye(4))
    as_float, _ = load_nifti(tmp_path / "mask.nii.gz")
    as_bytes, _ = load_nifti(tmp_path / "mask.nii.gz", np.uint8)
    assert as_float.dtype == np.float32 and as_bytes.dtype == np.uint8
    assert int(as_bytes.sum()) == 2 and as_float.sum() == pytest.approx(2.0)


def test_loaded_affine_is_a_copy(tmp_path):
    save_nifti(tmp_path / "a.nii.gz", np.ones((2, 2, 2), np.float32), np.eye(4))
    _, first = load_nifti(tmp_path / "a.nii.gz")
    first[0, 3] = 99.0
    _, second = load_nifti(tmp_path / "a.nii.gz")
    assert second[0, 3] == 0.0


def test_gzipped_output_is_byte_reproducible(tmp_path):
    data = np.arange(60, dtype=np.float32).reshape(5, 4, 3)
    save_nifti(tmp_path / "a.nii.gz", data, _oblique_affine())
    save_nifti(tmp_path / "b.nii.gz", data, _oblique_affine())
    raw = (tmp_path / "a.nii.gz").read_bytes()
    assert raw == (tmp_path / "b.nii.gz").read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # gzip's timestamp field
    assert gzip.decompress(raw)[:4] == (348).to_bytes(4, "little")  # a NIfTI-1 header inside


def test_atomic_write_makes_folders_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "a" / "b" / "out.txt"
    atomic_write_text(path, "ünïcode\n")
    assert path.read_bytes() == "ünïcode\n".encode("utf-8")
    atomic_write_bytes(path, b"second")
    assert path.read_bytes() == b"second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["out.txt"]


def test_atomic_write_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "shared.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "shared.bin").stat().st_mode & 0o777 == 0o640


def test_a_failed_write_keeps_the_old_file_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    path.write_text("old")

    def crash(src, dst):
        raise KeyboardInterrupt  # a job killed just before the rename

    monkeypatch.setattr(niio.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_spacing_and_voxel_volume_of_an_oblique_affine():
    affine = _oblique_affine()
    np.testing.assert_allclose(spacing_mm(affine), [0.9, 1.1, 3.0])
    assert voxel_volume_mm3(affine) == pytest.approx(0.9 * 1.1 * 3.0)
    flipped = affine @ np.diag([-1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(spacing_mm(flipped), [0.9, 1.1, 3.0])
    assert voxel_volume_mm3(flipped) == pytest.approx(0.9 * 1.1 * 3.0)


def test_file_sha256_of_a_file_and_of_a_folder(tmp_path):
    (tmp_path / "series" / "b").mkdir(parents=True)
    (tmp_path / "series" / "b" / "2.dcm").write_bytes(b"second")
    (tmp_path / "series" / "1.dcm").write_bytes(b"first")
    assert file_sha256(tmp_path / "series" / "1.dcm") == hashlib.sha256(b"first").hexdigest()
    # Files in the order of their paths: 1.dcm before b/2.dcm.
    assert file_sha256(tmp_path / "series") == hashlib.sha256(b"firstsecond").hexdigest()
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * 9000)  # more than one read block
    assert file_sha256(big) == hashlib.sha256(big.read_bytes()).hexdigest()
