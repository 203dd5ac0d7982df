"""Which way the slices run, shared by preprocessing, the network and the figures."""

import numpy as np
import pytest

from brainmets.geometry import rotation_matrix
from brainmets.slices import from_slices_last, slice_axis, to_slices_last


def _affine(columns) -> np.ndarray:
    affine = np.eye(4)
    affine[:3, :3] = np.asarray(columns, float).T  # column a: where voxel axis a points
    return affine


@pytest.mark.parametrize(
    "columns,axis",
    [
        ([[-0.5, 0, 0], [0, 0.5, 0], [0, 0, 1.0]], 2),  # axial
        ([[0, 0, -1.0], [1.0, 0, 0], [0, 1.0, 0]], 0),  # superior-inferior first
        ([[0, 1.0, 0], [0, 0, 1.2], [1.0, 0, 0]], 1),  # coronal order
    ],
)
def test_slice_axis_is_the_one_nearest_superior(columns, axis):
    assert slice_axis(_affine(columns)) == axis


def test_slice_axis_of_an_oblique_anisotropic_grid():
    # A tilted axial stack with thick slices: the spacing does not decide.
    lin = rotation_matrix((20.0, -15.0, 35.0)) @ np.diag([0.5, 0.5, 5.0])
    assert slice_axis(_affine(lin.T)) == 2
    # The same grid with its voxel axes permuted.
    assert slice_axis(_affine(lin.T[[2, 0, 1]])) == 0


def test_slices_last_and_back():
    volume = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    affine = _affine([[0, 0, 2.0], [1.0, 0, 0], [0, 1.0, 0]])  # slices along axis 0
    last = to_slices_last(volume, affine)
    assert last.shape == (3, 4, 2)
    np.testing.assert_array_equal(last[..., 1], volume[1])
    np.testing.assert_array_equal(from_slices_last(last, affine), volume)


def test_the_network_and_the_figures_use_the_same_slices():
    from brainmets.evaluation import figures
    from brainmets.network import inference
    from brainmets.preprocessing import normalize

    assert inference.to_slices_last is to_slices_last and inference.from_slices_last is from_slices_last
    assert figures.to_slices_last is to_slices_last and normalize.slice_axis is slice_axis
