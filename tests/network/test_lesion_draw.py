"""Lesion-balanced draws (training.lesion_draw: lesion): every training
lesion, large or small, is drawn equally often, and a patch keeps a voxel
of the lesion drawn."""

import numpy as np
import pytest
from scipy import stats

from brainmets.network import dataset
from brainmets.network.slicebank import SliceBank

H = W = 32


def _index(pid, z):
    return {"patient_id": pid, "examples": z, "height": H, "width": W, "image_dtype": "uint8", "sequences": ["T1pre", "T1gd", "BRAVO", "FLAIR"]}


def _volumes():
    """Patient a: a large lesion (12 slices) and a 1-voxel one on a slice of
    its own; patient b: a small lesion of 2 slices, touching a (diagonal)
    neighbour voxel, which 26-connectivity joins into it."""
    labels = {"a": np.zeros((20, H, W), np.uint8), "b": np.zeros((10, H, W), np.uint8)}
    labels["a"][2:14, 5:15, 5:15] = 1
    labels["a"][17, 25, 25] = 1
    labels["b"][4:6, 20:22, 3:5] = 1
    labels["b"][6, 22, 5] = 1
    rng = np.random.default_rng(0)
    return {pid: {"images": rng.integers(1, 255, (len(lab), H, W, 4), dtype=np.uint8), "labels": lab} for pid, lab in labels.items()}


@pytest.fixture
def bank():
    volumes = _volumes()
    return SliceBank([_index("a", 20), _index("b", 10)], context=3, read=lambda index: volumes[index["patient_id"]])


def test_the_bank_lists_each_lesion_by_its_voxels(bank):
    voxels, starts = bank.lesions()
    sizes = np.diff(starts)
    assert sorted(sizes.tolist()) == [1, 9, 1200]
    for k in range(len(sizes)):
        rows = voxels[starts[k] : starts[k + 1], 0]
        # Each lesion's voxels lie in one patient's rows.
        assert len(set(bank.patient[np.searchsorted(bank.centres, rows)])) == 1
        assert np.all(bank.labels[tuple(voxels[starts[k] : starts[k + 1]].T)] == 1)
    assert len(voxels) == int((bank.labels > 0).sum())


def test_lesion_draws_give_every_lesion_the_same_chance(bank):
    sampler = dataset.BalancedSampler(bank, 8, 0.5, seed=3, augment=False, lesion_draw="lesion")
    voxels, starts = bank.lesions()
    lesion_of = {tuple(v): k for k in range(len(starts) - 1) for v in voxels[starts[k] : starts[k + 1]]}
    counts = np.zeros(len(starts) - 1, int)
    for step in range(600):
        rows, is_lesion, anchors = sampler._draw(step)
        for row, (y, x) in zip(rows[is_lesion], anchors[is_lesion]):
            counts[lesion_of[(row, y, x)]] += 1  # the anchor is a voxel of a lesion, on the drawn row
        assert np.all(anchors[~is_lesion] == -1)
    assert stats.chisquare(counts).pvalue > 1e-3
    # The paper's draw, over lesion slices, gives the two small lesions 4 of
    # the 16 lesion slices; the lesion draw two thirds.
    paper = dataset.BalancedSampler(bank, 8, 0.5, seed=3, augment=False)
    rows = np.concatenate([r[l] for r, l in (paper.draw(s) for s in range(600))])
    small = {v[0] for v in voxels if lesion_of[tuple(v)] != int(np.argmax(np.diff(starts)))}
    assert np.isin(rows, list(small)).mean() < 0.35 < 0.55 < counts[np.diff(starts) < 100].sum() / counts.sum()


def test_a_lesion_draws_patch_keeps_the_lesion_drawn():
    """A slice holding a large lesion and a one-voxel one: anchored on the
    small one, every patch keeps it; unanchored, most keep only the large."""
    label = np.zeros((H, W, 1), np.uint8)
    label[2:14, 2:14] = 1
    label[28, 29] = 1
    rng = np.random.default_rng(1)
    anchored = [dataset.patch_origin(label, 8, True, rng, (28, 29)) for _ in range(200)]
    assert all(y <= 28 < y + 8 and x <= 29 < x + 8 for y, x in anchored)
    free = [dataset.patch_origin(label, 8, True, rng) for _ in range(200)]
    assert sum(y <= 28 < y + 8 and x <= 29 < x + 8 for y, x in free) < 10


def test_lesion_draw_batches_hold_a_lesion_in_every_lesion_draw(bank):
    sampler = dataset.BalancedSampler(bank, 8, 0.5, seed=5, augment=False, crop=8, lesion_draw="lesion")
    for step in range(50):
        _, labels = sampler.batch(step)
        _, is_lesion, _ = sampler._draw(step)
        assert all(labels[i].any() for i in np.flatnonzero(is_lesion))
    assert labels.shape == (8, 8, 8, 1)


def test_the_paper_draw_is_unchanged_and_an_unknown_draw_refused(bank):
    default = dataset.BalancedSampler(bank, 8, 0.5, seed=7, crop=8)
    paper = dataset.BalancedSampler(bank, 8, 0.5, seed=7, crop=8, lesion_draw="slice")
    for step in range(5):
        assert all(np.array_equal(a, b) for a, b in zip(default.batch(step), paper.batch(step)))
    balanced = dataset.BalancedSampler(bank, 8, 0.5, seed=7, crop=8, lesion_draw="lesion")
    assert np.array_equal(balanced.batch(2)[0], balanced.batch(2)[0])  # a pure function of the step
    with pytest.raises(ValueError, match="unknown lesion draw 'voxel'"):
        dataset.BalancedSampler(bank, 8, 0.5, seed=7, lesion_draw="voxel")
