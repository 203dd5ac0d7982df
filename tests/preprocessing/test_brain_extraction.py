from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from brainmets.geometry import resample_to_grid
from brainmets.phantom.generate import phantom_paths
from brainmets.preprocessing import brain_extraction as bx
from brainmets.preprocessing.registration import read_rigid_ras  # noqa: F401 (ANTs import order)

from ..conftest import require_realdata


def _dice(a, b):
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def test_fsl_command_line(tmp_path):
    (tmp_path / "t1.nii.gz").write_bytes(b"")
    interface = bx.bet_interface(tmp_path / "t1.nii.gz", tmp_path / "brain.nii.gz", frac=0.5)
    args = interface.cmdline.split()
    assert args[0] == "bet"
    # nipype writes paths relative to the working directory.
    assert Path(args[1]).resolve() == (tmp_path / "t1.nii.gz").resolve()
    assert Path(args[2]).resolve() == (tmp_path / "brain.nii.gz").resolve()
    assert sorted(args[3:]) == sorted(["-f", "0.50", "-m", "-R"])  # threshold, mask, robust centre


def test_engine_choice(monkeypatch, tmp_path):
    monkeypatch.delenv("FSLDIR", raising=False)
    monkeypatch.setattr(bx, "deepbet_available", lambda: False)
    assert bx.choose_engine("auto") == "python"
    monkeypatch.setattr(bx, "deepbet_available", lambda: True)
    assert bx.choose_engine("auto") == "deepbet"  # without FSL, where installed
    with pytest.raises(RuntimeError, match="bet is not installed"):
        bx.choose_engine("fsl")
    with pytest.raises(ValueError, match="engine must be one of"):
        bx.choose_engine("hdbet")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "bet").write_text("#!/bin/sh\n")
    (fake / "bet").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("FSLDIR", str(tmp_path))
    assert bx.choose_engine("auto") == "fsl"


@pytest.mark.skipif(not bx.fsl_available(), reason="FSL is not installed (bet not on PATH or FSLDIR unset)")
def test_real_fsl_bet_on_mni152():
    head, mask = require_realdata("mni152/MNI152_T1_2mm.nii.gz", "mni152/MNI152_T1_2mm_brain_mask.nii.gz")
    result, _, engine = bx.extract_brain(head, "fsl")
    assert engine == "fsl"
    assert _dice(result, nib.load(str(mask)).get_fdata() > 0) > 0.9


def test_isotropic_grid_keeps_field_of_view():
    affine = np.array([[0, 0, 1.6, -80], [-0.9, 0, 0, 100], [0, 0.9, 0, -90], [0, 0, 0, 1]])
    shape, iso = bx.isotropic_grid(affine, (200, 220, 100), 1.0)
    assert shape == (180, 198, 160)

    def corner(a, s):
        return a[:3, :3] @ (np.asarray(s) - 0.5) + a[:3, 3]

    np.testing.assert_allclose(corner(iso, shape), corner(affine, (200, 220, 100)), atol=1e-6)
    np.testing.assert_allclose(iso[:3, :3] @ [0, 0, 1], [1.0, 0, 0])


def test_implausible_volume_fails_with_patient_and_file():
    with pytest.raises(ValueError, match=r"patient 'p7', file t1\.nii\.gz: brain mask volume 300 mL"):
        bx.check_mask_volume("p7", "t1.nii.gz", 300.0, (800, 2200))


@pytest.mark.slow
def test_python_bet_on_phantom_matches_truth(demo_scale_patient):
    """Dice >= 0.95 against the phantom's true brain mask, carried to the
    BRAVO grid with the true transform (isolates brain extraction)."""
    meta, out = demo_scale_patient
    paths = phantom_paths(out, meta["patient_id"])
    import json

    mask, affine, engine = bx.extract_brain(paths["T1pre"], "python")
    truth = nib.load(str(paths["brain_mask"]))
    t1_to_bravo = np.array(json.loads(paths["transforms"].read_text())["T1pre"]["matrix"])
    carried = resample_to_grid(mask, affine, truth.shape, truth.affine, order=0, target_to_source=np.linalg.inv(t1_to_bravo))
    assert engine == "python"
    assert _dice(carried > 0.5, np.asarray(truth.dataobj) > 0) >= 0.95


@pytest.mark.slow
def test_python_bet_on_mni152_beats_plain_reimplementation():
    head, mask = require_realdata("mni152/MNI152_T1_2mm.nii.gz", "mni152/MNI152_T1_2mm_brain_mask.nii.gz")
    result, _, _ = bx.extract_brain(head, "python")
    reference = nib.load(str(mask)).get_fdata() > 0
    assert _dice(result, reference) >= 0.95
    assert 0.9 < result.sum() / reference.sum() < 1.1


@pytest.mark.slow
def test_python_bet_copes_with_thick_slices(tmp_path):
    """MNI152 resliced to 4 mm thick slices still gives a good mask."""
    head, mask = require_realdata("mni152/MNI152_T1_2mm.nii.gz", "mni152/MNI152_T1_2mm_brain_mask.nii.gz")
    img = nib.load(str(head))
    thick_affine = img.affine @ np.diag([1.0, 1.0, 2.0, 1.0])
    thick_shape = (img.shape[0], img.shape[1], img.shape[2] // 2)
    thick = resample_to_grid(img.get_fdata(), img.affine, thick_shape, thick_affine, order=1)
    reference = resample_to_grid(nib.load(str(mask)).get_fdata(), img.affine, thick_shape, thick_affine, order=0) > 0.5
    from brainmets.niio import save_nifti

    save_nifti(tmp_path / "thick.nii.gz", thick, thick_affine)
    result, _, _ = bx.extract_brain(tmp_path / "thick.nii.gz", "python")
    assert _dice(result, reference) >= 0.94


def test_deepbet_requested_without_the_package(monkeypatch):
    monkeypatch.setattr(bx, "deepbet_available", lambda: False)
    with pytest.raises(RuntimeError, match="pip install deepbet"):
        bx.choose_engine("deepbet")
    monkeypatch.delenv("FSLDIR", raising=False)
    assert bx.choose_engine("auto") == "python"


def _mni152_thick(tmp_path, factor):
    head, mask = require_realdata("mni152/MNI152_T1_2mm.nii.gz", "mni152/MNI152_T1_2mm_brain_mask.nii.gz")
    img = nib.load(str(head))
    affine = img.affine @ np.diag([1.0, 1.0, factor, 1.0])
    shape = (img.shape[0], img.shape[1], int(round(img.shape[2] / factor)))
    from brainmets.niio import save_nifti

    save_nifti(tmp_path / "thick.nii.gz", resample_to_grid(img.get_fdata(), img.affine, shape, affine, order=1), affine)
    return tmp_path / "thick.nii.gz", resample_to_grid(nib.load(str(mask)).get_fdata(), img.affine, shape, affine, order=0) > 0.5


@pytest.mark.skipif(not bx.deepbet_available(), reason="deepbet is not installed (pip install deepbet)")
def test_deepbet_on_mni152_and_its_thick_slices(tmp_path):
    head, mask = require_realdata("mni152/MNI152_T1_2mm.nii.gz", "mni152/MNI152_T1_2mm_brain_mask.nii.gz")
    result, affine, engine = bx.extract_brain(head, "deepbet")
    reference = nib.load(str(mask)).get_fdata() > 0
    assert engine == "deepbet" and result.shape == reference.shape
    np.testing.assert_array_equal(affine, nib.load(str(head)).affine)
    assert _dice(result, reference) >= 0.97  # measured 0.977
    assert 0.95 < result.sum() / reference.sum() < 1.1
    thick, reference = _mni152_thick(tmp_path, 2.5)  # 5 mm slices
    result, _, _ = bx.extract_brain(thick, "deepbet")
    assert _dice(result, reference) >= 0.96
