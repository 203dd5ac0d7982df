import numpy as np
import pytest

from brainmets.lesions import LesionInstances, connected_components, lesion_table, lesion_table_from_mask


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


def _pieces():
    """One tumour in two pieces 2 voxels apart (centre to centre 3 mm at
    1.5 mm spacing, gap 1 voxel), and a one-voxel speck far away."""
    mask = np.zeros((30, 20, 20), bool)
    mask[2:6, 2:6, 2:6] = True
    mask[7:10, 2:6, 2:6] = True
    mask[25, 15, 15] = True
    return mask, np.diag([1.5, 1.5, 1.5, 1.0])


def test_instances_by_default_are_connected_components():
    mask, affine = _pieces()
    labels, n = LesionInstances().label(mask, affine)
    expected, m = connected_components(mask, 26)
    assert n == m == 3 and np.array_equal(labels, expected)


def test_pieces_within_the_join_distance_are_one_lesion():
    mask, affine = _pieces()
    labels, n = LesionInstances(join_mm=3.0).label(mask, affine)
    assert n == 2 and labels[3, 3, 3] == labels[8, 3, 3] != labels[25, 15, 15]
    assert np.array_equal(labels > 0, mask)  # joining adds no voxel
    assert LesionInstances(join_mm=2.9).label(mask, affine)[1] == 3  # farther than 2.9 mm: apart
    table = lesion_table_from_mask(mask, affine, LesionInstances(join_mm=3.0))
    assert len(table) == 2 and table.voxels.tolist() == [4 * 4 * 4 + 3 * 4 * 4, 1]


def test_instances_under_the_minimum_volume_are_not_counted():
    mask, affine = _pieces()
    # The speck is 3.375 mm^3; each piece is larger.
    labels, n = LesionInstances(min_volume_mm3=3.4).label(mask, affine)
    assert n == 2 and labels[25, 15, 15] == 0 and sorted(np.unique(labels).tolist()) == [0, 1, 2]
    labels, n = LesionInstances(join_mm=3.0, min_volume_mm3=3.4).label(mask, affine)
    assert n == 1 and labels[3, 3, 3] == labels[8, 3, 3] == 1
    assert LesionInstances(min_volume_mm3=3.375).label(mask, affine)[1] == 3  # at the minimum: counted
    assert LesionInstances(join_mm=3.0, min_volume_mm3=1.0).label(np.zeros((4, 4, 4), bool), affine)[1] == 0


def test_instances_from_the_configuration():
    config = {"cohort": {"lesion_connectivity": 18, "lesion_join_mm": 4.0, "lesion_min_volume_mm3": 10.0}}
    assert LesionInstances.from_config(config) == LesionInstances(18, 4.0, 10.0)
    assert LesionInstances.from_config({"cohort": {"lesion_connectivity": 26}}) == LesionInstances()


def test_confident_components_keep_whole_pieces_that_reach_the_peak():
    from brainmets.lesions import confident_components

    prob = np.zeros((20, 20, 10), np.float32)
    prob[2:6, 2:6, 2:6] = 0.6
    prob[3, 3, 3] = 0.97  # one sure voxel keeps the whole piece
    prob[10:16, 10:16, 2:8] = 0.9  # never reaches 0.95
    prob[18, 18, 8] = 0.99  # a sure speck
    mask = prob >= 0.5
    kept = confident_components(mask, prob, 0.95)
    assert kept.sum() == 64 + 1 and kept[2:6, 2:6, 2:6].all() and not kept[10:16, 10:16, 2:8].any()
    assert np.array_equal(confident_components(mask, prob, 0.0), mask)
    assert confident_components(mask, prob, 0.999).sum() == 0
    assert confident_components(np.zeros_like(mask), prob, 0.95).sum() == 0
