"""The phantom's metastases (``phantom.lesions``): counts within their
subgroup, sizes within bounds, placed apart and inside the brain, ring
enhancement and oedema growing with size."""

import numpy as np
import pytest

from brainmets.phantom.anatomy import PARENCHYMA, HeadModel
from brainmets.phantom.lesions import SUBGROUP_RANGES, draw_diameters, draw_lesion_count, place_lesions


@pytest.mark.parametrize("subgroup", list(SUBGROUP_RANGES))
def test_counts_stay_in_their_subgroup(subgroup):
    rng = np.random.default_rng(1)
    lo, hi = SUBGROUP_RANGES[subgroup]
    counts = [draw_lesion_count(rng, subgroup, max_lesions=60) for _ in range(200)]
    assert min(counts) >= lo and max(counts) <= (hi or 60)


def test_diameters_are_bounded_and_largest_first():
    d = draw_diameters(np.random.default_rng(2), 50, d_min=2.0, d_max=40.0, median=8.0, sigma=0.8)
    assert d.min() >= 2.0 and d.max() <= 40.0 and np.all(np.diff(d) <= 0)


def test_placed_lesions_keep_apart_inside_the_brain():
    rng = np.random.default_rng(3)
    head = HeadModel.random(rng)
    lesions = place_lesions(rng, head, np.array([24.0, 12.0, 6.0, 4.0, 3.0]), min_gap_mm=2.0)
    assert [les.lesion_id for les in lesions] == [1, 2, 3, 4, 5]
    for i, a in enumerate(lesions):
        assert a.rho(a.centre[None])[0] == 0.0 and np.isin(head.tissue(a.centre[None]), PARENCHYMA).all()
        for b in lesions[i + 1 :]:
            assert np.linalg.norm(a.centre - b.centre) >= a.semi_axes.max() + b.semi_axes.max() + 2.0
    # Large lesions ring-enhance and carry more oedema than the smallest.
    assert lesions[0].ring_enhancing and not lesions[-1].ring_enhancing
    assert lesions[0].oedema_factor >= 1.3 and lesions[-1].oedema_factor == 1.0
