"""The residual local shift after a rigid registration: zero for one head
moved rigidly (whatever its contrast), millimetres for a deformed or
another head."""

import numpy as np
import pytest
from scipy import ndimage

from brainmets.geometry import resample_to_grid, rigid
from brainmets.preprocessing.residual_shift import limit_mm, residual_shift

SHAPE = (56, 64, 48)
SPACING = np.array([2.0, 2.0, 2.0])
# An oblique, off-centre grid: the check must not rely on an identity affine.
AFFINE = rigid((6, -4, 9), (-50, -70, -40)) @ np.diag([*SPACING, 1.0])


def _head(seed: int) -> np.ndarray:
    """An ellipsoidal 'head' with a skin rim and folded inner structure (smooth random field)."""
    rng = np.random.default_rng(seed)
    idx = np.indices(SHAPE).astype(float)
    centre = (np.array(SHAPE) - 1) / 2
    radii = np.array(SHAPE) * 0.42 * rng.uniform(0.93, 1.07)
    rho = np.sqrt((((idx - centre[:, None, None, None]) / radii[:, None, None, None]) ** 2).sum(0))
    folds = ndimage.gaussian_filter(rng.normal(size=SHAPE), 2.0)
    folds = (folds > 0).astype(float) * 0.6 + 0.4
    head = np.where(rho < 0.9, folds, 0.0) + np.where((rho >= 0.9) & (rho < 1.0), 1.0, 0.0)
    return (100 * ndimage.gaussian_filter(head, 0.7) + rng.normal(0, 2, SHAPE)).astype(np.float32)


def _moved_and_back(image: np.ndarray) -> np.ndarray:
    """``image`` stored in another pose, then resampled back onto its grid
    through the (known) rigid transform, as registration does."""
    motion = rigid((5, -3, 4), (4.0, -6.0, 3.0))  # scanner -> scanner, mm
    moved = resample_to_grid(image, AFFINE, SHAPE, AFFINE, order=1, target_to_source=np.linalg.inv(motion))
    return resample_to_grid(moved, AFFINE, SHAPE, AFFINE, order=1, target_to_source=motion)


def test_same_head_moved_rigidly_needs_no_shift():
    head = _head(1)
    back = _moved_and_back(head)
    result = residual_shift(head, back, SPACING)
    assert result.blocks >= 20
    assert result.median_mm < 1.0
    # Contrast does not matter: the inverted image (dark where bright) matches as well.
    inverted = (150 - back).astype(np.float32)
    assert residual_shift(head, inverted, SPACING).median_mm < 1.0


def test_deformed_head_needs_millimetres():
    head = _head(1)
    rng = np.random.default_rng(7)
    # A smooth displacement field of several mm (different ventricles, folds):
    # 4 mm per axis (sd), about 6 mm long in the median.
    field = [ndimage.gaussian_filter(rng.normal(size=SHAPE), 4.0) for _ in range(3)]
    field = [f / f.std() * 2.0 for f in field]
    coords = np.indices(SHAPE).astype(float) + np.stack(field)
    warped = ndimage.map_coordinates(head, coords, order=1, mode="nearest").astype(np.float32)
    assert residual_shift(head, warped, SPACING).median_mm > 3.0


def test_another_head_needs_millimetres():
    assert residual_shift(_head(1), _head(2), SPACING).median_mm > 3.0


def test_field_of_view_and_empty_cases():
    head = _head(1)
    # Only the blocks seen by both count: half a field of view still measures.
    valid = np.zeros(SHAPE, bool)
    valid[:, :, : SHAPE[2] // 2 + 8] = True
    part = residual_shift(head, np.where(valid, head, 0), SPACING, valid)
    assert part.blocks > 0 and part.median_mm < 1.0
    # Nothing in common: no blocks, no number (the gate then says nothing).
    none = residual_shift(head, np.zeros(SHAPE, np.float32), SPACING, np.zeros(SHAPE, bool))
    assert none.blocks == 0 and np.isnan(none.median_mm)


@pytest.mark.parametrize("voxel, expected", [(1.0, 2.0), (2.0, 2.0), (4.0, 4.0), (6.0, 6.0), (None, 2.0)])
def test_limit_grows_with_thick_slices(voxel, expected):
    assert limit_mm(2.0, voxel) == pytest.approx(expected)
