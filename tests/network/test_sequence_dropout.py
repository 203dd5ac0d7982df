"""Sequence dropout over any non-empty proper subset of the sequences, and
what the model card and the input checks make of it."""

import itertools

import numpy as np
import pytest
from scipy import stats

from brainmets.network import dataset
from brainmets.input_sets import accepted_missing, missing_refusal
from brainmets.network.inference import check_inputs
from brainmets.network.slicebank import SliceBank
from brainmets.sequences import SEQUENCES

N_SEQ, PER_SEQUENCE = 4, 7  # the records of conftest: 4 sequences x (2 * 3 + 1) slices


def _sampler(records, **overrides):
    settings = dict(batch_size=8, lesion_fraction=0.5, seed=5, augment=True, sequence_dropout=0.0)
    settings.update(overrides)
    return dataset.BalancedSampler(SliceBank([r[1] for r in records], context=3), **settings)


def blanked_subsets(records, p: float, steps: int, seed: int = 21):
    """Per example of ``steps`` batches: the tuple of sequences blanked, read
    against the same batches drawn without dropout."""
    dropped, intact = _sampler(records, sequence_dropout=p, seed=seed), _sampler(records, seed=seed)
    found = []
    for step in range(steps):
        x, _ = dropped.batch(step)
        full, _ = intact.batch(step)
        for example, original in zip(x, full):
            blocks = example.reshape(*example.shape[:2], N_SEQ, PER_SEQUENCE)
            originals = original.reshape(*original.shape[:2], N_SEQ, PER_SEQUENCE)
            assert originals.max(axis=(0, 1, 3)).min() > 0  # every sequence has content before dropout
            blanked = tuple(int(s) for s in np.flatnonzero(blocks.max(axis=(0, 1, 3)) == 0))
            kept = [s for s in range(N_SEQ) if s not in blanked]
            # Flips and rotations are drawn before dropout: what is kept is untouched.
            np.testing.assert_array_equal(blocks[:, :, kept], originals[:, :, kept])
            found.append(blanked)
    return found


def test_dropout_subsets_are_the_non_empty_proper_ones():
    subsets = dataset.dropout_subsets(4)
    assert len(subsets) == 14 == len(set(subsets))
    assert all(0 < len(s) < 4 for s in subsets)
    assert set(subsets) == {c for k in (1, 2, 3) for c in itertools.combinations(range(4), k)}
    assert dataset.dropout_subsets(1) == [] and dataset.dropout_subsets(2) == [(0,), (1,)]
    # At most two at once: the 4 singles and 6 pairs.
    assert dataset.dropout_subsets(4, max_missing=2) == subsets[:10] and dataset.dropout_subsets(4, max_missing=9) == subsets


def test_max_missing_limits_what_is_blanked_and_the_card(records):
    sampler = _sampler(records, sequence_dropout=1.0, max_missing=1, augment=False, seed=4)
    intact = _sampler(records, augment=False, seed=4)
    x, _ = sampler.batch(0)
    full, _ = intact.batch(0)
    for example, original in zip(x, full):
        blanked = np.flatnonzero(example.reshape(*example.shape[:2], N_SEQ, PER_SEQUENCE).max(axis=(0, 1, 3)) == 0)
        assert len(blanked) == 1 and original.reshape(*original.shape[:2], N_SEQ, PER_SEQUENCE)[..., blanked[0], :].max() > 0
    card = {"sequences": list(SEQUENCES), "sequence_dropout": 1.0, "accepted_missing": [[SEQUENCES[i] for i in s] for s in sampler.dropout_subsets]}
    assert missing_refusal(card, ["BRAVO"]) is None
    assert missing_refusal(card, ["BRAVO", "T1gd"]) == "was trained to do without only these sets of sequences: T1pre; T1gd; BRAVO; FLAIR"


def test_named_sets_are_drawn_as_often_as_listed(records):
    named = [["BRAVO"], ["T1pre"], ["T1pre"], ["T1gd", "BRAVO"], ["T1pre", "T1gd", "BRAVO", "FLAIR"]]
    subsets = dataset.named_dropout_subsets(SEQUENCES, named)
    # Indices in the sequences' order; a set of every sequence is no dropout set.
    assert subsets == [(2,), (0,), (0,), (1, 2)]
    # A model without BRAVO: its sets lose the BRAVO, an empty one goes.
    assert dataset.named_dropout_subsets(["T1pre", "T1gd", "FLAIR"], named) == [(0,), (0,), (1,)]
    with pytest.raises(ValueError, match="unknown sequences: T2"):
        dataset.named_dropout_subsets(SEQUENCES, [["T2"]])
    sampler = _sampler(records, sequence_dropout=1.0, subsets=subsets, seed=3)
    intact = _sampler(records, seed=3)
    found = []
    for step in range(100):  # 800 examples
        x, _ = sampler.batch(step)
        full, _ = intact.batch(step)
        for example, original in zip(x, full):
            blocks, originals = (a.reshape(*a.shape[:2], N_SEQ, PER_SEQUENCE) for a in (example, original))
            blanked = tuple(int(s) for s in np.flatnonzero(blocks.max(axis=(0, 1, 3)) == 0))
            assert all(originals[..., s, :].max() > 0 for s in blanked)
            found.append(blanked)
    counts = [found.count(s) for s in [(2,), (0,), (1, 2)]]
    assert sum(counts) == len(found)
    assert stats.chisquare(counts, np.array([1, 2, 1]) / 4 * len(found)).pvalue > 1e-3


def test_every_subset_is_drawn_uniformly_and_one_sequence_is_always_kept(records):
    found = blanked_subsets(records, p=1.0, steps=250)  # 2000 examples
    assert () not in found and all(len(s) < N_SEQ for s in found)
    counts = {s: found.count(s) for s in dataset.dropout_subsets(N_SEQ)}
    assert sum(counts.values()) == len(found) and min(counts.values()) > 0
    assert stats.chisquare(list(counts.values())).pvalue > 1e-3


def test_dropout_probability_is_per_example(records):
    found = blanked_subsets(records, p=0.3, steps=150)  # 1200 examples
    dropped = sum(1 for s in found if s)
    assert stats.binomtest(dropped, len(found), 0.3).pvalue > 1e-3
    assert all(len(s) < N_SEQ for s in found)


def test_dropout_starts_at_its_step_and_earlier_batches_are_those_without_it(records):
    late = _sampler(records, sequence_dropout=1.0, dropout_from_step=3, seed=8)
    intact = _sampler(records, seed=8)
    for step in range(3):
        for a, b in zip(late.batch(step), intact.batch(step)):
            np.testing.assert_array_equal(a, b)
    for step in (3, 7):
        x, y = late.batch(step)
        full, y_full = intact.batch(step)
        np.testing.assert_array_equal(y, y_full)
        blocks = x.reshape(*x.shape[:3], N_SEQ, PER_SEQUENCE)
        assert (blocks.max(axis=(1, 2, 4)) == 0).any(axis=1).all()  # every example lost a sequence


def _card(dropout: float, **extra) -> dict:
    return {"sequences": list(SEQUENCES), "inplane_size": 32, "sequence_dropout": dropout, **extra}


def test_missing_sequences_the_card_accepts():
    subsets = [[SEQUENCES[i] for i in s] for s in dataset.dropout_subsets(4)]
    card = _card(0.5, accepted_missing=subsets)
    for subset in subsets:
        check_inputs(card, (32, 32, 5), subset, "test")
    with pytest.raises(ValueError, match="needs at least one of its sequences"):
        check_inputs(card, (32, 32, 5), list(SEQUENCES), "test")
    # A model without dropout accepts nothing missing, whatever else the card says.
    for no_dropout in (_card(0.0), _card(0.0, accepted_missing=subsets), _card(0.0, accepted_missing=[])):
        assert accepted_missing(no_dropout) == []
        with pytest.raises(ValueError, match="test: sequence\\(s\\) BRAVO missing, but the model was trained without sequence dropout"):
            check_inputs(no_dropout, (32, 32, 5), ["BRAVO"], "test")
    # Cards from before accepted_missing: their dropout blanked one sequence at a time.
    old = _card(0.25)
    assert accepted_missing(old) == [(s,) for s in SEQUENCES]
    assert missing_refusal(old, ["FLAIR"]) is None
    assert "do without only these sets of sequences: T1pre; T1gd; BRAVO; FLAIR" in missing_refusal(old, ["BRAVO", "FLAIR"])
    assert missing_refusal(_card(0.0), []) is None


def test_mid_grey_fill_is_the_same_in_training_and_inference(records):
    """A blanked sequence is the middle grey inside the brain (where another
    sequence has signal) and zero outside, in the batches and at inference."""
    from brainmets.network.inference import missing_volume

    grey, intact = _sampler(records, sequence_dropout=1.0, seed=8, fill="mid_grey"), _sampler(records, seed=8)
    assert grey.bank.images.dtype == np.uint8 and grey.fill_level == 128.0
    for step in (0, 5):
        x, _ = grey.batch(step)
        full, _ = intact.batch(step)
        for example, original in zip(x, full):
            brain = (original > 0).any(-1)
            blocks = example.reshape(*example.shape[:2], N_SEQ, PER_SEQUENCE)
            originals = original.reshape(*original.shape[:2], N_SEQ, PER_SEQUENCE)
            blanked = [s for s in range(N_SEQ) if not np.array_equal(blocks[:, :, s], originals[:, :, s])]
            assert blanked
            for s in blanked:
                np.testing.assert_array_equal(blocks[:, :, s], np.where(brain, 128, 0)[..., None].repeat(PER_SEQUENCE, -1))
    mask = np.zeros((4, 4, 2), np.uint8)
    mask[1:3, 1:3] = 1
    card = _card(0.5, image_dtype="uint8", sequence_dropout_fill="mid_grey")
    np.testing.assert_allclose(missing_volume(card, mask), mask * (128 / 255))
    # Older cards, and the zero fill: zeros.
    assert not missing_volume(_card(0.5, image_dtype="uint8"), mask).any()
    with pytest.raises(ValueError, match="unknown sequence dropout fill 'grey'"):
        dataset.missing_level("grey", "uint8")
