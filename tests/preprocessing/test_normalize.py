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
