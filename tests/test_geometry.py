"""Rigid transforms and voxel grids, and ``resample_to_grid`` (the
orientation core) on oblique, translated, anisotropic grids."""

import numpy as np
import pytest

from brainmets.geometry import Grid, apply, resample_to_grid, rigid, rotation_matrix

GRADIENT = np.array([0.7, -1.3, 2.1])


def _oblique(angles, spacing, origin) -> np.ndarray:
    """A voxel-to-scanner affine: voxel axes rotated by ``angles`` (degrees),
    ``spacing`` mm apart, voxel (0, 0, 0) at ``origin``."""
    affine = np.eye(4)
    affine[:3, :3] = rotation_matrix(angles) @ np.diag(spacing)
    affine[:3, 3] = origin
    return affine


def _centred(angles, spacing, shape, centre) -> np.ndarray:
    """An oblique affine whose grid of ``shape`` is centred on ``centre``."""
    affine = _oblique(angles, spacing, (0.0, 0.0, 0.0))
    affine[:3, 3] = np.asarray(centre) - affine[:3, :3] @ ((np.asarray(shape) - 1) / 2)
    return affine


SHAPE = (24, 20, 12)  # 24 mm each way
SOURCE = _oblique((17.0, -23.0, 31.0), (1.0, 1.2, 2.0), (-10.0, 4.0, 7.0))
CENTRE = apply(SOURCE, ((np.asarray(SHAPE) - 1) / 2)[None])[0]
TARGET_SHAPE = (12, 18, 14)  # about 17 mm each way, turned another way
TARGET = _centred((-41.0, 8.0, -67.0), (1.4, 0.9, 1.2), TARGET_SHAPE, CENTRE)


def _indices(shape) -> np.ndarray:
    return np.indices(shape).reshape(3, -1).T.astype(float)


def _linear_field(shape, affine) -> np.ndarray:
    """A linear function of the scanner position, sampled on a grid: linear
    interpolation reproduces it exactly wherever it interpolates."""
    world = apply(affine, _indices(shape))
    return (world @ GRADIENT + 5.0).reshape(shape).astype(np.float32)


def _inside(shape, affine, target_shape, target_affine, target_to_source=None, margin=0.01) -> np.ndarray:
    """Target voxels whose source position lies inside the source grid."""
    world_map = np.eye(4) if target_to_source is None else target_to_source
    vox = apply(np.linalg.inv(affine) @ world_map @ target_affine, _indices(target_shape))
    ok = np.all((vox >= margin) & (vox <= np.asarray(shape) - 1 - margin), axis=1)
    return ok.reshape(target_shape)


def test_rotation_matrix_is_a_proper_rotation_in_the_stated_order():
    r = rotation_matrix((10.0, 20.0, 30.0))
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)
    # About z by 90 degrees: x goes to y.
    np.testing.assert_allclose(rotation_matrix((0, 0, 90)) @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    # x first, then z: about x by 90 takes y to z, which z leaves alone.
    np.testing.assert_allclose(rotation_matrix((90, 0, 90)) @ [0, 1, 0], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(r, rotation_matrix((0, 0, 30)) @ rotation_matrix((0, 20, 0)) @ rotation_matrix((10, 0, 0)))


def test_rigid_applies_rotation_then_translation():
    m = rigid((0, 0, 90), (1.0, 2.0, 3.0))
    np.testing.assert_allclose(apply(m, np.array([[1.0, 0, 0], [0, 0, 5.0]])), [[1.0, 3.0, 3.0], [1.0, 2.0, 8.0]], atol=1e-12)
    np.testing.assert_allclose(apply(np.linalg.inv(m) @ m, np.array([[4.0, -2.0, 9.0]])), [[4.0, -2.0, 9.0]], atol=1e-12)


def test_grid_spacing_of_an_oblique_affine():
    np.testing.assert_allclose(Grid((4, 4, 4), SOURCE).spacing, [1.0, 1.2, 2.0])


def test_frame_points_are_the_voxel_centres_with_k_fastest():
    grid = Grid((3, 4, 5), SOURCE)
    idx = _indices((3, 4, 5))
    np.testing.assert_allclose(grid.frame_points(SOURCE), apply(SOURCE, idx), atol=1e-12)
    slab = grid.frame_points(SOURCE, 1, 3)
    np.testing.assert_allclose(slab, apply(SOURCE, idx[(idx[:, 2] >= 1) & (idx[:, 2] < 3)]), atol=1e-12)


def test_box_points_and_index_box():
    grid = Grid((20, 20, 20), SOURCE)
    pts = grid.box_points((1, 2, 3), (3, 4, 6))
    assert pts.shape == (2 * 2 * 3, 3)
    np.testing.assert_array_equal(pts[0], [1, 2, 3])
    np.testing.assert_array_equal(pts[-1], [2, 3, 5])
    centre = apply(SOURCE, np.array([[10.0, 9.0, 8.0]]))[0]
    lo, hi = grid.index_box(SOURCE, centre, 3.0)
    # Every voxel within the radius is in the box.
    near = _indices(grid.shape)[np.linalg.norm(apply(SOURCE, _indices(grid.shape)) - centre, axis=1) <= 3.0]
    assert near.size and np.all(near >= lo) and np.all(near < hi)
    assert np.all(hi - lo <= 2 * np.ceil(3.0 * np.sqrt(3) / grid.spacing) + 4)
    assert grid.index_box(SOURCE, centre + 500.0, 3.0) is None


def test_linear_resampling_onto_an_oblique_grid_keeps_world_values():
    shape, target_shape = SHAPE, TARGET_SHAPE
    data = _linear_field(shape, SOURCE)
    out = resample_to_grid(data, SOURCE, target_shape, TARGET, order=1)
    assert out.shape == target_shape and out.dtype == np.float32
    inside = _inside(shape, SOURCE, target_shape, TARGET)
    assert inside.sum() > 0.2 * inside.size
    expected = _linear_field(target_shape, TARGET)
    np.testing.assert_allclose(out[inside], expected[inside], rtol=0, atol=1e-3)
    # Outside the source's field of view: zero.
    wide_shape = (30, 30, 30)
    wide = _centred((-41.0, 8.0, -67.0), (1.5, 1.5, 1.5), wide_shape, CENTRE)
    out = resample_to_grid(data, SOURCE, wide_shape, wide, order=1)
    outside = ~_inside(shape, SOURCE, wide_shape, wide, margin=-1.0)
    assert outside.any() and np.all(out[outside] == 0)
    inside = _inside(shape, SOURCE, wide_shape, wide)
    np.testing.assert_allclose(out[inside], _linear_field(wide_shape, wide)[inside], rtol=0, atol=1e-3)


def test_round_trip_between_oblique_grids():
    shape = SHAPE
    data = _linear_field(shape, SOURCE)
    fine_shape = (48, 48, 48)
    fine = _centred((-41.0, 8.0, -67.0), (0.8, 0.8, 0.8), fine_shape, CENTRE)
    there = resample_to_grid(data, SOURCE, fine_shape, fine, order=1)
    back = resample_to_grid(there, fine, shape, SOURCE, order=1)
    # Where the first step kept its values and the second only reads those.
    kept = _inside(shape, SOURCE, fine_shape, fine)
    via = apply(np.linalg.inv(fine) @ SOURCE, _indices(shape))
    ok = np.all((via >= 0) & (via <= np.asarray(fine_shape) - 1), axis=1).reshape(shape)
    corners = np.floor(via).astype(int)
    for offset in np.indices((2, 2, 2)).reshape(3, -1).T:
        c = np.clip(corners + offset, 0, np.asarray(fine_shape) - 1)
        ok &= kept[c[:, 0], c[:, 1], c[:, 2]].reshape(shape)
    assert ok.sum() > 0.2 * ok.size
    np.testing.assert_allclose(back[ok], data[ok], rtol=0, atol=2e-3)


def test_a_known_world_point_lands_where_expected():
    shape = (15, 15, 9)
    spot = np.array([6.0, 9.0, 4.0])
    data = np.zeros(shape, np.float32)
    data[tuple(spot.astype(int))] = 1.0
    world = apply(SOURCE, spot[None])[0]
    # A target grid with the same world point at voxel (5, 3, 7).
    q = np.array([5.0, 3.0, 7.0])
    target = TARGET.copy()
    target[:3, 3] = world - TARGET[:3, :3] @ q
    out = resample_to_grid(data, SOURCE, (12, 10, 14), target, order=0)
    assert out[5, 3, 7] == 1.0
    # Everything marked lies within one source voxel of the point.
    marked = apply(target, np.argwhere(out > 0).astype(float))
    assert np.all(np.linalg.norm(marked - world, axis=1) <= np.linalg.norm(Grid(shape, SOURCE).spacing) / 2 + 1e-6)
    # With a rigid motion between the spaces the point moves with it.
    motion = rigid((5.0, -12.0, 20.0), (3.0, -4.0, 6.0))  # target space -> source space
    moved = target.copy()
    moved[:3, 3] = apply(np.linalg.inv(motion), world[None])[0] - TARGET[:3, :3] @ q
    out = resample_to_grid(data, SOURCE, (12, 10, 14), moved, order=0, target_to_source=motion)
    assert out[5, 3, 7] == 1.0


def test_target_to_source_maps_target_points_into_the_source():
    shape, target_shape = SHAPE, TARGET_SHAPE
    data = _linear_field(shape, SOURCE)
    motion = rigid((4.0, -7.0, 11.0), (2.0, 1.0, -3.0))
    out = resample_to_grid(data, SOURCE, target_shape, TARGET, order=1, target_to_source=motion)
    inside = _inside(shape, SOURCE, target_shape, TARGET, motion)
    assert inside.sum() > 0.2 * inside.size
    expected = (apply(motion @ TARGET, _indices(target_shape)) @ GRADIENT + 5.0).reshape(target_shape)
    np.testing.assert_allclose(out[inside], expected[inside], rtol=0, atol=1e-3)


def test_nearest_keeps_labels_linear_blends():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=(10, 10, 10)).astype(np.float32) * 2.0
    src = np.diag([1.0, 1.0, 1.0, 1.0])
    half = src.copy()
    half[:3, 3] = 0.5  # every target voxel half-way between source voxels
    nearest = resample_to_grid(labels, src, (9, 9, 9), half, order=0)
    assert set(np.unique(nearest)) <= set(np.unique(labels))
    linear = resample_to_grid(labels, src, (9, 9, 9), half, order=1)
    # The mean of the eight surrounding voxels.
    blocks = sum(labels[i : i + 9, j : j + 9, k : k + 9] for i in (0, 1) for j in (0, 1) for k in (0, 1)) / 8
    np.testing.assert_allclose(linear, blocks, atol=1e-5)
    assert not set(np.unique(linear)) <= set(np.unique(labels))


@pytest.mark.parametrize("order", [0, 1])
def test_mirrored_and_permuted_voxel_orders_give_the_same_world_image(order):
    rng = np.random.default_rng(3)
    shape = SHAPE
    data = rng.random(shape).astype(np.float32)
    target_shape, target = TARGET_SHAPE, TARGET
    reference = resample_to_grid(data, SOURCE, target_shape, target, order)
    assert np.count_nonzero(reference) > 0.2 * reference.size

    # Mirrored along axis 1: voxel j becomes n - 1 - j.
    flip = np.eye(4)
    flip[1, 1], flip[1, 3] = -1.0, shape[1] - 1
    mirrored = resample_to_grid(data[:, ::-1, :], SOURCE @ flip, target_shape, target, order)
    # Axes permuted (2, 0, 1): new axis a is old axis perm[a].
    perm = (2, 0, 1)
    swap = np.eye(4)[:, [*perm, 3]]
    permuted = resample_to_grid(np.transpose(data, perm), SOURCE @ swap, target_shape, target, order)
    both = resample_to_grid(np.transpose(data[:, ::-1, :], perm), SOURCE @ flip @ swap, target_shape, target, order)
    for other in (mirrored, permuted, both):
        if order == 0:
            # Nearest neighbour may break a tie the other way only exactly half-way.
            assert np.mean(other == reference) > 0.999
        else:
            np.testing.assert_allclose(other, reference, atol=1e-5)
