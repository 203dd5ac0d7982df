import numpy as np
import pytest

from brainmets.preprocessing.normalize import equalize_slices, inplane_grid, normalize, zscore
from brainmets.slices import slice_axis

AXIAL = np.array([[-0.47, 0, 0, 120], [0, 0.47, 0, -100], [0, 0, 1.0, -60], [0, 0, 0, 1]])


def test_slice_axis_of_axial_and_sagittal():
    assert slice_axis(AXIAL) == 2
    sagittal = np.array([[0, 0, 1.0, 0], [-1, 0, 0, 0], [0, -1, 0, 0], [0, 0, 0, 1]])
    assert slice_axis(sagittal) == 1


def test_512_downsampled_to_256_same_field_of_view_same_slices():
    shape, affine = inplane_grid(AXIAL, (512, 512, 160), 256)
    assert shape == (256, 256, 160)
    np.testing.assert_allclose(np.diag(affine)[:3], [-0.94, 0.94, 1.0])

    def corner(a, s):
        return a[:3, :3] @ (np.asarray(s) - 0.5) + a[:3, 3]

    np.testing.assert_allclose(corner(affine, shape), corner(AXIAL, (512, 512, 160)))
    np.testing.assert_allclose(affine[2, 3], AXIAL[2, 3])  # slice positions unchanged


def test_histogram_equalization_per_slice_inside_mask():
    rng = np.random.default_rng(0)
    vol = rng.gamma(2.0, 100.0, (20, 20, 4)).astype(np.float32)
    vol[..., 1] = vol[..., 0] * 3 + 50  # a monotone transform of slice 0
    mask = np.zeros(vol.shape, bool)
    mask[3:17, 3:17, :] = True
    out = equalize_slices(vol, mask, axis=2)
    assert np.all(out[~mask] == 0)
    assert out[mask].min() > 0 and out[mask].max() == pytest.approx(1.0)
    np.testing.assert_allclose(out[..., 0], out[..., 1])  # independent of slice scale
    inside = mask[..., 2]
    order = np.argsort(vol[..., 2][inside])
    assert np.all(np.diff(out[..., 2][inside][order]) >= 0)  # monotone
    # Equalised values are uniform: their mean is about one half.
    assert out[mask].mean() == pytest.approx(0.5, abs=0.01)
    # 8-bit levels: uint8 storage of the records is lossless.
    levels = out * 255
    np.testing.assert_allclose(levels, np.rint(levels), atol=1e-4)


def test_zscore_inside_mask():
    rng = np.random.default_rng(1)
    vol = rng.normal(300, 40, (10, 10, 10))
    mask = np.ones(vol.shape, bool)
    mask[0] = False
    out = zscore(vol, mask)
    assert out[mask].mean() == pytest.approx(0, abs=1e-5) and out[mask].std() == pytest.approx(1, abs=1e-4)
    assert np.all(out[~mask] == 0)


def test_unknown_method():
    with pytest.raises(ValueError, match="normalization must be one of"):
        normalize(np.zeros((2, 2, 2)), np.ones((2, 2, 2)), 2, "minmax")


def test_a_field_of_view_that_is_not_square_gets_square_voxels_around_the_same_centre():
    # A sagittal 256x256x176 acquisition seen in axial slices: 176 mm left-right, 250 mm front-back.
    sagittal = np.array([[0, 0, 1.0, -88], [0.977, 0, 0, -125], [0, 0.977, 0, -125], [0, 0, 0, 1]])
    shape, affine = inplane_grid(sagittal, (256, 256, 176), 128)
    axis = slice_axis(sagittal)
    assert axis == 1 and shape == (128, 256, 128)  # the same slices
    spacing = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    inplane = [a for a in range(3) if a != axis]
    np.testing.assert_allclose(spacing[inplane], 256 * 0.977 / 128)  # square, from the longer side
    np.testing.assert_allclose(spacing[axis], 0.977)

    def centre(a, s):
        return a[:3, :3] @ ((np.asarray(s) - 1) / 2) + a[:3, 3]

    np.testing.assert_allclose(centre(affine, shape), centre(sagittal, (256, 256, 176)), atol=1e-9)


def test_labels_are_carried_through_the_registration_between_sequences(tmp_path, monkeypatch):
    from brainmets.niio import save_nifti
    from brainmets.preprocessing import pipeline

    # Labels drawn on one sequence; the grid is another's, whose world is the labels' moved by 6 mm.
    labels = np.zeros((20, 20, 20), np.uint8)
    labels[8:12, 8:12, 8:12] = 1
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    save_nifti(tmp_path / "labels.nii.gz", labels, affine)
    save_nifti(tmp_path / "grid.nii.gz", np.ones((20, 20, 20), np.uint8), affine)
    moved = np.eye(4)
    moved[0, 3] = 6.0  # the registration: labels' world -> grid's world
    monkeypatch.setattr(pipeline.registration, "read_rigid_ras", lambda path: moved)
    assert pipeline.lesion_resampling_step(tmp_path / "labels.nii.gz", tmp_path / "grid.nii.gz", tmp_path / "same.nii.gz") == 64
    assert pipeline.lesion_resampling_step(tmp_path / "labels.nii.gz", tmp_path / "grid.nii.gz", tmp_path / "moved.nii.gz", "xfm.mat") == 64
    import nibabel as nib

    same, carried = (np.asarray(nib.load(str(tmp_path / f"{n}.nii.gz")).dataobj) for n in ("same", "moved"))
    np.testing.assert_array_equal(np.argwhere(carried).min(0), np.argwhere(same).min(0) + [3, 0, 0])  # 6 mm = 3 voxels along x
