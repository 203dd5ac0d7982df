"""Quality-control pictures: views drawn the usual way up, PNGs written."""

import numpy as np
import pytest

from brainmets import qc

PNG = b"\x89PNG\r\n\x1a\n"


def test_canonical_reorders_an_lps_image_to_ras():
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    lps = np.diag([-1.0, -1.0, 1.0, 1.0])
    np.testing.assert_array_equal(qc._canonical(data, lps), data[::-1, ::-1, :])
    np.testing.assert_array_equal(qc._canonical(data, np.eye(4)), data)


def test_canonical_reorders_permuted_axes():
    data = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    # Voxel axis 0 runs along z, 1 along x, 2 along y.
    affine = np.array([[0, 1.0, 0, 0], [0, 0, 1.0, 0], [1.0, 0, 0, 0], [0, 0, 0, 1]])
    np.testing.assert_array_equal(qc._canonical(data, affine), data.transpose(1, 2, 0))


def test_aspects_follow_the_spacing_in_ras_order():
    assert qc._aspects(np.diag([1.0, 2.0, 3.0, 1.0])) == pytest.approx((1.5, 3.0, 2.0))
    # The same spacings stored z, x, y: the views are unchanged.
    permuted = np.array([[0, 1.0, 0, 0], [0, 0, 2.0, 0], [3.0, 0, 0, 0], [0, 0, 0, 1]])
    assert qc._aspects(permuted) == pytest.approx((1.5, 3.0, 2.0))


def test_views_are_the_three_planes_through_the_centre():
    volume = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    sagittal, coronal, axial = qc._views(volume, (1.7, 2.2, 3.9))
    np.testing.assert_array_equal(sagittal, volume[1].T)
    np.testing.assert_array_equal(coronal, volume[:, 2].T)
    np.testing.assert_array_equal(axial, volume[:, :, 3].T)
    assert sagittal.shape == (6, 5) and coronal.shape == (6, 4) and axial.shape == (5, 4)


def test_robust_limits_ignore_the_background():
    assert qc._robust_limits(np.zeros((3, 3))) == (0, 1)
    image = np.zeros(1000)
    image[:200] = np.linspace(1.0, 100.0, 200)
    lo, hi = qc._robust_limits(image)
    assert lo == pytest.approx(np.percentile(image[:200], 1)) and hi == pytest.approx(np.percentile(image[:200], 99.5))


def _head(shape=(16, 14, 10)):
    idx = np.indices(shape).astype(float)
    centre = (np.asarray(shape) - 1)[:, None, None, None] / 2
    r = np.sqrt((((idx - centre) / (np.asarray(shape)[:, None, None, None] / 2.5)) ** 2).sum(axis=0))
    image = np.where(r < 1, 100 - 40 * r, 0).astype(np.float32)
    return image, (r < 0.6).astype(np.uint8)


def test_mask_outline_figure_writes_the_same_png_twice(tmp_path):
    image, mask = _head()
    affine = np.diag([-1.2, -1.0, 2.0, 1.0])
    qc.mask_outline_figure(tmp_path / "a.png", image, mask, affine, "brain mask")
    qc.mask_outline_figure(tmp_path / "b.png", image, mask, affine, "brain mask")
    raw = (tmp_path / "a.png").read_bytes()
    assert raw.startswith(PNG) and raw == (tmp_path / "b.png").read_bytes()
    # An empty mask still gives a picture, through the volume's centre.
    qc.mask_outline_figure(tmp_path / "empty.png", image, np.zeros_like(mask), affine, "empty")
    assert (tmp_path / "empty.png").read_bytes().startswith(PNG)


def test_edges_overlay_figure(tmp_path):
    image, _ = _head()
    moved = np.roll(image, 2, axis=0)
    qc.edges_overlay_figure(tmp_path / "sub" / "edges.png", moved, image, np.eye(4), "T1gd on BRAVO")
    assert (tmp_path / "sub" / "edges.png").read_bytes().startswith(PNG)
    # A blank reference (nothing to outline) draws the image alone.
    qc.edges_overlay_figure(tmp_path / "blank.png", moved, np.zeros_like(image), np.eye(4), "blank")
    assert (tmp_path / "blank.png").read_bytes().startswith(PNG)
    assert list(tmp_path.glob(".*.tmp")) == []
