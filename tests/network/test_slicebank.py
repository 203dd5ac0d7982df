"""The in-memory slice bank (``network.slicebank``): 2.5D neighbourhoods,
sequence-major and zero-padded."""

import numpy as np

from brainmets.network.slicebank import SliceBank
from brainmets.niio import load_nifti
from brainmets.sequences import SEQUENCES

from tests.tiny_network import SHAPE


def test_bank_neighbourhoods_are_sequence_major_and_zero_padded(records):
    bank = SliceBank([r[1] for r in records], context=3)
    assert bank.channels == 28 and len(bank.centres) == 3 * SHAPE[2] and len(bank.lesion_centres) == 9
    for number, (files, _) in enumerate(records):
        volumes = [load_nifti(files[s])[0] for s in SEQUENCES]
        for k in (0, 1, 5, SHAPE[2] - 1):
            row = bank.centres[(bank.patient == number) & (bank.slice_index == k)]
            image = bank.inputs(row)[0] / 255.0
            for s, vol in enumerate(volumes):
                for j, offset in enumerate(range(-3, 4)):
                    z = k + offset
                    # Beyond the first or last slice: zeros, never the next patient.
                    expected = vol[..., z] if 0 <= z < SHAPE[2] else np.zeros((32, 32))
                    np.testing.assert_allclose(image[..., s * 7 + j], expected, atol=1e-6)
