"""The balanced sampler (``network.dataset``): its statistics, augmentation,
sequence dropout, validation order and lesion-keeping patches; the same
seed, the same batches."""

import numpy as np
from scipy import stats

from brainmets.network import dataset, loader
from brainmets.network.slicebank import SliceBank

from tests.tiny_network import SHAPE, balanced_sampler


def test_sampling_is_uniform_over_slices_and_lesion_slices(records):
    """Over many batches: the uniform half is uniform over every slice of
    every patient, the lesion half uniform over the lesion slices, and the
    halves alternate within each batch."""
    sampler = balanced_sampler(records)
    bank = sampler.bank
    uniform, lesion = [], []
    for step in range(3000):
        rows, is_lesion = sampler.draw(step)
        assert is_lesion.tolist() == [True, False] * 4  # every contiguous half has both kinds
        uniform.append(rows[~is_lesion])
        lesion.append(rows[is_lesion])
    uniform, lesion = np.concatenate(uniform), np.concatenate(lesion)
    position = {row: i for i, row in enumerate(bank.centres)}
    counts = np.bincount([position[r] for r in uniform], minlength=len(bank.centres))
    assert stats.chisquare(counts).pvalue > 1e-3
    # Patients in proportion to their slices, slice index uniform within them.
    assert stats.chisquare(np.bincount(bank.patient[[position[r] for r in uniform]])).pvalue > 1e-3
    assert stats.chisquare(np.bincount(bank.slice_index[[position[r] for r in uniform]])).pvalue > 1e-3
    assert set(lesion) == set(bank.lesion_centres)
    assert stats.chisquare(np.unique(lesion, return_counts=True)[1]).pvalue > 1e-3


def test_sampler_detects_a_skewed_draw(records):
    # The statistics above can fail: the old stream's slice-order window would.
    bank = balanced_sampler(records).bank
    skewed = np.bincount(np.arange(len(bank.centres))[: len(bank.centres) // 3].repeat(30), minlength=len(bank.centres))
    assert stats.chisquare(skewed + 1).pvalue < 1e-6


def test_augmentation_moves_image_and_label_together(records):
    sampler = balanced_sampler(records, seed=7)
    for step in range(4):
        x, y = sampler.batch(step)
        for i in range(0, 8, 2):
            # The lesion is bright (255) in the first sequence's centre slice.
            assert np.all(x[i, ..., 3][y[i, ..., 0] > 0] == 255)


def test_same_seed_same_batches_and_resume_sees_the_same_stream(records):
    a, b, c = balanced_sampler(records, seed=11), balanced_sampler(records, seed=11), balanced_sampler(records, seed=12)
    assert all(np.array_equal(a.batch(s)[0], b.batch(s)[0]) for s in range(3))
    assert not all(np.array_equal(a.batch(s)[0], c.batch(s)[0]) for s in range(3))
    # From batch 5 on, as a run resumed there would draw them.
    resumed = loader.training_batches(a, 5, workers=2)
    next(resumed)
    np.testing.assert_array_equal(next(resumed)[0], b.batch(6)[0])
    resumed.close()


def test_sequence_dropout_blanks_whole_sequences(records):
    sampler = balanced_sampler(records, sequence_dropout=1.0, augment=False, seed=3)
    intact = balanced_sampler(records, sequence_dropout=0.0, augment=False, seed=3)
    for step in range(2):
        x, _ = sampler.batch(step)
        full, _ = intact.batch(step)
        for example, original in zip(x, full):
            # Channels are sequence-major: 4 sequences x 7 slices.
            blocks, originals = example.reshape(32, 32, 4, 7), original.reshape(32, 32, 4, 7)
            blanked = blocks.max(axis=(0, 1, 3)) == 0
            assert 1 <= blanked.sum() <= 3
            # Each sequence is either all zeros or untouched.
            np.testing.assert_array_equal(blocks[..., ~blanked, :], originals[..., ~blanked, :])


def test_validation_sees_every_slice_once(records):
    bank = SliceBank([r[1] for r in records], context=3)
    validation = loader.ValidationBatches(bank, 5, workers=2)
    batches = [validation[i] for i in range(len(validation))]
    assert sum(x.shape[0] for x, _ in batches) == 3 * SHAPE[2] == 5 * len(validation) - 4
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches])[..., 0], bank.labels[bank.centres])
    assert dataset.steps_per_epoch(36, 8) == 5  # ceil(36 / 8)


def test_patches_keep_a_lesion_voxel_in_lesion_draws(records):
    sampler = balanced_sampler(records, crop=16, seed=4)
    for step in range(20):
        x, y = sampler.batch(step)
        assert x.shape == (8, 16, 16, 28) and y.shape == (8, 16, 16, 1)
        assert all(y[i].any() for i in range(0, 8, 2))
    # A patch as large as the slice is the slice itself (the paper).
    assert balanced_sampler(records, crop=32).crop is None
    batches = loader.training_batches(sampler, 0, workers=2)
    assert next(batches)[0].shape == (8, 16, 16, 28)
    batches.close()
