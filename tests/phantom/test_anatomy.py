"""The phantom's head (``phantom.anatomy``): one model per seed, brain
inside, then cerebrospinal fluid, skull and scalp, air outside."""

import numpy as np

from brainmets.phantom.anatomy import PARENCHYMA, HeadModel, Tissue


def test_the_same_seed_gives_the_same_head():
    a, b = HeadModel.random(np.random.default_rng(5)), HeadModel.random(np.random.default_rng(5))
    points = np.random.default_rng(0).uniform(-90, 90, (500, 3))
    assert np.array_equal(a.tissue(points), b.tissue(points))
    assert not np.array_equal(a.tissue(points), HeadModel.random(np.random.default_rng(6)).tissue(points))


def test_layers_from_the_brain_outward():
    head = HeadModel.random(np.random.default_rng(7))
    # Along a ray up through the vertex: brain, then skull, then scalp, then air.
    ray = np.c_[np.zeros(200), np.zeros(200), np.linspace(20.0, 140.0, 200)]
    tissue = head.tissue(ray)
    first = {t: int(np.argmax(tissue == t)) for t in (Tissue.SKULL, Tissue.AIR)}
    assert np.isin(tissue[0], PARENCHYMA) and (tissue == Tissue.SKULL).any() and tissue[-1] == Tissue.AIR
    assert first[Tissue.SKULL] < first[Tissue.AIR]
    assert not np.isin(tissue[first[Tissue.SKULL] :], PARENCHYMA).any()  # no brain beyond the skull
    mask = head.brain_mask(ray, tissue)
    assert mask[0] and not mask[first[Tissue.SKULL] :].any()
