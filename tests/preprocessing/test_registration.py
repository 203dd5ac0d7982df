import json

import nibabel as nib
import numpy as np
import pytest

from brainmets.geometry import resample_to_grid, rigid
from brainmets.niio import save_nifti
from brainmets.phantom.generate import phantom_paths
from brainmets.preprocessing import registration as reg
from brainmets.qc import edges_overlay_figure

from ..conftest import require_realdata


def _brain_points(mask_path):
    img = nib.load(str(mask_path))
    idx = np.argwhere(np.asarray(img.dataobj) > 0)
    return idx @ img.affine[:3, :3].T + img.affine[:3, 3]


@pytest.mark.slow
def test_phantom_registration_error_within_target(demo_scale_patient, tmp_path):
    meta, out = demo_scale_patient
    paths = phantom_paths(out, meta["patient_id"])
    truth = json.loads(paths["transforms"].read_text())
    points = _brain_points(paths["brain_mask"])
    for seq in ("T1pre", "T1gd", "FLAIR"):
        report = reg.register_rigid(paths["BRAVO"], paths[seq], tmp_path / f"{seq}.mat")
        error = reg.target_registration_error(reg.read_rigid_ras(tmp_path / f"{seq}.mat"), np.array(truth[seq]["matrix"]), points)
        before = reg.target_registration_error(np.eye(4), np.array(truth[seq]["matrix"]), points)
        assert error.mean() <= 1.0 and error.max() <= 2.0, (seq, error.mean(), error.max())
        assert before.mean() > 3.0  # the motion was real
        assert not report["worse_than_start"] and report["mi_after"] > report["mi_before"]


@pytest.mark.slow
def test_same_inputs_same_transform_bytes(demo_scale_patient, tmp_path):
    meta, out = demo_scale_patient
    paths = phantom_paths(out, meta["patient_id"])
    reg.register_rigid(paths["BRAVO"], paths["FLAIR"], tmp_path / "a.mat")
    reg.register_rigid(paths["BRAVO"], paths["FLAIR"], tmp_path / "b.mat")
    assert (tmp_path / "a.mat").read_bytes() == (tmp_path / "b.mat").read_bytes()


def test_itk_transform_read_as_ras(tmp_path):
    import ants

    tx = ants.create_ants_transform(transform_type="AffineTransform", dimension=3)
    m = rigid([5, -3, 8], [4, -7, 2])
    lps = np.diag([-1.0, -1, 1, 1]) @ m @ np.diag([-1.0, -1, 1, 1])
    tx.set_parameters(np.concatenate([lps[:3, :3].ravel(), lps[:3, 3]]))
    tx.set_fixed_parameters([10.0, -20.0, 5.0])
    ants.write_transform(tx, str(tmp_path / "t.mat"))
    ras = reg.read_rigid_ras(tmp_path / "t.mat")
    point_ras = np.array([12.0, 30.0, -8.0])
    point_lps = point_ras * [-1, -1, 1]
    expected = np.array(ants.read_transform(str(tmp_path / "t.mat")).apply_to_point(point_lps.tolist())) * [-1, -1, 1]
    np.testing.assert_allclose(ras[:3, :3] @ point_ras + ras[:3, 3], expected, atol=1e-6)


def test_real_t1_moved_by_known_rigid_transform_comes_back(tmp_path):
    (t1,) = require_realdata("chris/chris_t1.nii.gz")
    img = nib.load(str(t1))
    data = np.asarray(img.dataobj, np.float32)
    # Move the head: the moved image shows the head displaced by ``motion``.
    motion = rigid([6.0, -4.0, 5.0], [7.0, -5.0, 4.0])
    moved = resample_to_grid(data, img.affine, data.shape, img.affine, order=1, target_to_source=np.linalg.inv(motion))
    save_nifti(tmp_path / "moved.nii.gz", moved, img.affine)
    reg.register_rigid(t1, tmp_path / "moved.nii.gz", tmp_path / "x.mat")
    brain = data > np.percentile(data[data > 0], 60)
    idx = np.argwhere(brain)[::20]
    points = idx @ img.affine[:3, :3].T + img.affine[:3, 3]
    # The true moving-to-reference map undoes the motion.
    error = reg.target_registration_error(reg.read_rigid_ras(tmp_path / "x.mat"), np.linalg.inv(motion), points)
    assert error.mean() <= 1.0, error.mean()


def test_real_pd_lands_on_t1(tmp_path):
    t1, pd_path = require_realdata("chris/chris_t1.nii.gz", "chris/chris_PD.nii.gz")
    report = reg.register_rigid(t1, pd_path, tmp_path / "pd.mat")
    assert report["mi_after"] > report["mi_before"]
    assert not report["worse_than_start"]
    fixed = nib.load(str(t1))
    moving = nib.load(str(pd_path))
    registered = resample_to_grid(
        np.asarray(moving.dataobj), moving.affine, fixed.shape, fixed.affine, order=1,
        target_to_source=reg.read_rigid_ras(tmp_path / "pd.mat"),
    )
    edges_overlay_figure(tmp_path / "pd_on_t1.png", registered, np.asarray(fixed.dataobj, np.float32), fixed.affine, "PD on T1")
    assert (tmp_path / "pd_on_t1.png").stat().st_size > 10_000
