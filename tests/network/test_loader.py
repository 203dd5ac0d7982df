"""Batches made ahead by threads (``network.loader``): in the stored dtype,
handed out in order, errors passed on."""

import time

import numpy as np
import pytest

from brainmets.network import loader

from tests.tiny_network import balanced_sampler


def test_balanced_batches_through_the_loader_stay_in_the_stored_dtype(records):
    sampler = balanced_sampler(records)
    batches = loader.training_batches(sampler, 0, workers=3)
    for _ in range(6):
        x, y = next(batches)
        assert x.shape == (8, 32, 32, 28) and y.shape == (8, 32, 32, 1) and x.dtype == np.uint8 and y.dtype == np.uint8
        assert all(y[i].any() for i in range(0, 8, 2))  # the lesion draws
    assert batches.batches == 6 and batches.waited_seconds >= 0
    batches.close()


def test_loader_hands_out_in_order_and_passes_errors_on():
    def produce(i):
        time.sleep(0.02 * (i % 3))  # finished out of order
        if i == 7:
            raise ValueError("patient x: batch 7")
        return i

    batches = loader.PrefetchingBatches(produce, first=2, stop=7, workers=4)
    assert list(batches) == [2, 3, 4, 5, 6]
    failing = loader.PrefetchingBatches(produce, first=5, workers=2)
    assert [next(failing), next(failing)] == [5, 6]
    with pytest.raises(ValueError, match="batch 7"):
        next(failing)
    failing.close()
