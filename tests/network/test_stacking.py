"""2.5D examples (``network.stacking``): each slice with its neighbours
from every sequence, sequence-major, zeros beyond the volume's ends."""

import numpy as np
import pytest

from brainmets.network.stacking import SliceStacker, n_channels


def test_channels_are_sequence_major_with_zero_beyond_the_ends():
    # Each voxel holds 10 * (sequence + 1) + slice, so a channel says where it came from.
    volumes = [np.broadcast_to(10.0 * (s + 1) + np.arange(5), (3, 4, 5)).copy() for s in range(2)]
    stacker = SliceStacker(volumes, context=1)
    assert stacker.channels == n_channels(2, 1) == 6
    # Slice 2: sequence 0 at slices 1, 2, 3, then sequence 1.
    assert stacker.example(2)[0, 0].tolist() == [11, 12, 13, 21, 22, 23]
    # Slice 0: no slice below it, a zero.
    assert stacker.example(0)[0, 0].tolist() == [0, 10, 11, 0, 20, 21]
    assert stacker.batch([4, 0]).shape == (2, 3, 4, 6) and stacker.batch([4])[0, 0, 0].tolist() == [13, 14, 0, 23, 24, 0]


def test_sequences_on_different_grids_are_refused():
    with pytest.raises(ValueError, match="sequences differ in shape"):
        SliceStacker([np.zeros((3, 4, 5)), np.zeros((3, 4, 6))], context=1)


def test_stacker_channel_count_follows_context():
    vols = [np.ones((8, 8, 5), np.float32) * i for i in range(4)]
    stacker = SliceStacker(vols, context=1)
    assert stacker.channels == 12
    example = stacker.example(0)
    assert example.shape == (8, 8, 12)
    assert example[0, 0, :3].tolist() == [0, 0, 0] and example[0, 0, 3:6].tolist() == [0, 1, 1]  # zero below slice 0
