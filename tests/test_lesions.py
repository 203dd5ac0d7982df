import numpy as np
import pytest

from brainmets.lesions import connected_components, lesion_table, lesion_table_from_mask


def _sphere(n, centre, radius_mm, spacing):
    idx = np.indices((n, n, n)).reshape(3, -1).T
    inside = np.linalg.norm((idx - centre) * spacing, axis=1) < radius_mm
    return inside.reshape(n, n, n)


@pytest.mark.parametrize("diameter,spacing", [(4, 1.0), (10, 1.0), (30, 1.0), (12, 2.0), (40, 1.5)])
def test_sphere_diameter_and_volume(diameter, spacing):
    n = int(50 / spacing)
    mask = _sphere(n, np.array([n / 2 + 0.3, n / 2 - 0.2, n / 2 + 0.1]), diameter / 2, spacing)
    affine = np.diag([spacing, spacing, spacing, 1.0])
    table = lesion_table_from_mask(mask, affine)
    assert len(table) == 1
    row = table.iloc[0]
    assert row.volume_mm3 == pytest.approx(mask.sum() * spacing**3)
    assert row.volume_mm3 == pytest.approx(np.pi / 6 * diameter**3, rel=0.25)
    # Measured between outer voxel faces: within one voxel of the truth.
    assert abs(row.longest_diameter_mm - diameter) <= spacing


def test_single_voxel_measures_its_longest_side():
    mask = np.zeros((5, 5, 5), bool)
    mask[2, 2, 2] = True
    table = lesion_table_from_mask(mask, np.diag([0.5, 0.5, 3.0, 1.0]))
    assert table.longest_diameter_mm.iloc[0] == pytest.approx(3.0)


def test_centroid_in_scanner_coordinates_uses_affine():
    mask = np.zeros((10, 10, 10), bool)
    mask[2:4, 5, 7] = True
    affine = np.array([[0, 0, 2.0, 10], [-1.0, 0, 0, 20], [0, 3.0, 0, -5], [0, 0, 0, 1]])
    row = lesion_table_from_mask(mask, affine).iloc[0]
    expected = affine[:3, :3] @ np.array([2.5, 5, 7]) + affine[:3, 3]
    np.testing.assert_allclose([row.centroid_x_mm, row.centroid_y_mm, row.centroid_z_mm], expected)


def test_anisotropic_volume():
    mask = np.zeros((6, 6, 6), bool)
    mask[1:3, 1:3, 1:3] = True
    assert lesion_table_from_mask(mask, np.diag([0.5, 0.5, 2.0, 1])).volume_mm3.iloc[0] == pytest.approx(8 * 0.5)


@pytest.mark.parametrize("connectivity,expected", [(6, 2), (18, 1), (26, 1)])
def test_connectivity_of_diagonal_neighbours(connectivity, expected):
    mask = np.zeros((5, 5, 5), bool)
    mask[1, 1, 1] = mask[2, 2, 1] = True  # edge neighbours
    assert connected_components(mask, connectivity)[1] == expected


def test_corner_neighbours_join_only_at_26():
    mask = np.zeros((5, 5, 5), bool)
    mask[1, 1, 1] = mask[2, 2, 2] = True
    assert connected_components(mask, 18)[1] == 2
    assert connected_components(mask, 26)[1] == 1


def test_bad_connectivity_rejected():
    with pytest.raises(ValueError, match="connectivity"):
        connected_components(np.zeros((3, 3, 3)), 8)


def test_instance_table_skips_missing_ids():
    labels = np.zeros((6, 6, 6), np.int16)
    labels[1, 1, 1] = 1
    labels[4, 4, 4] = 3
    table = lesion_table(labels, np.eye(4))
    assert table.lesion_id.tolist() == [1, 3]
