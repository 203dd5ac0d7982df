"""The phantom's scans (``phantom.acquisition``): head motion within its
limits, each sequence its own grid, field strength drawn as configured."""

import numpy as np

from brainmets.phantom.acquisition import Protocol, acquisition_grids, draw_scanner, head_poses
from brainmets.sequences import SEQUENCES


def test_head_motion_stays_within_its_limits():
    poses = head_poses(np.random.default_rng(1), max_rotation_deg=5.0, max_translation_mm=4.0)
    assert set(poses) == set(SEQUENCES)
    for pose in poses.values():
        rotation = pose[:3, :3]
        assert np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-9) and np.all(np.abs(pose[:3, 3]) <= 4.0)
        assert np.degrees(np.arccos(np.clip((np.trace(rotation) - 1) / 2, -1, 1))) <= 5.0 * np.sqrt(3)


def test_each_sequence_has_its_own_grid_scaled_down_for_the_demo():
    full = acquisition_grids(np.random.default_rng(2), Protocol(), scale=1.0, bravo_512=False)
    half = acquisition_grids(np.random.default_rng(2), Protocol(), scale=2.0, bravo_512=False)
    assert list(full) == list(SEQUENCES)
    assert tuple(full["BRAVO"].shape) == Protocol().bravo_matrix
    assert all(np.prod(half[s].shape) < np.prod(full[s].shape) / 4 for s in SEQUENCES)
    assert len({tuple(np.round(g.affine, 3).ravel()) for g in full.values()}) == len(SEQUENCES)


def test_field_strength_follows_its_share():
    rng = np.random.default_rng(3)
    scanners = [draw_scanner(rng, p_1p5t=0.25) for _ in range(400)]
    share = np.mean([s.field_strength_t == 1.5 for s in scanners])
    assert 0.18 < share < 0.32 and {s.field_strength_t for s in scanners} == {1.5, 3.0}
    # Lower field, more noise relative to the signal.
    noise = {f: np.mean([s.noise["T1gd"] for s in scanners if s.field_strength_t == f]) for f in (1.5, 3.0)}
    assert noise[1.5] > noise[3.0]
