"""Batches for Keras under any backend, made ahead of the step by threads.

The batches are NumPy arrays in the records' stored dtype (uint8 for
equalized images): a quarter of the bytes of float32 cross to the device,
and the conversion to the network's float happens there, in the model's
first layer (``train.training_network``). Keras takes a Python generator
(training) and a ``keras.utils.PyDataset`` (validation) under TensorFlow,
JAX and PyTorch alike, so nothing here imports a backend.

Training batch ``g`` is a pure function of the seed and ``g`` (``dataset``):
threads may make them in any order, and they are handed out in order.
"""

from __future__ import annotations

import collections
import concurrent.futures
import math
import os
import time
from typing import Callable

import keras
import numpy as np

from .dataset import BalancedSampler
from .slicebank import SliceBank


def default_workers() -> int:
    """The cores this process may use (a scheduler's share), at most 16."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(16, cores))


class PrefetchingBatches:
    """``produce(first)``, ``produce(first + 1)``, ... (up to ``stop``,
    else without end), made by ``workers`` threads, at most ``depth``
    ahead. ``waited_seconds`` is the time the consumer spent blocked on a
    batch that was not ready: the step's wait for data."""

    def __init__(self, produce: Callable[[int], tuple], first: int = 0, stop: int | None = None, workers: int | None = None, depth: int | None = None):
        self.produce, self.stop = produce, stop
        self.workers = workers or default_workers()
        self.depth = depth or 2 * self.workers
        self.pool = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="batches")
        self.pending: collections.deque = collections.deque()
        self._submitted = int(first)
        self.waited_seconds, self.batches = 0.0, 0
        self._fill()

    def _fill(self):
        while len(self.pending) < self.depth and (self.stop is None or self._submitted < self.stop):
            self.pending.append(self.pool.submit(self.produce, self._submitted))
            self._submitted += 1

    def __iter__(self):
        return self

    def __next__(self):
        if not self.pending:
            self.close()
            raise StopIteration
        future = self.pending.popleft()
        if not future.done():
            t0 = time.perf_counter()
            concurrent.futures.wait([future])
            self.waited_seconds += time.perf_counter() - t0
        batch = future.result()  # a producer's exception surfaces here
        self.batches += 1
        self._fill()
        return batch

    def close(self):
        for future in self.pending:
            future.cancel()
        self.pending.clear()
        self.pool.shutdown(wait=False, cancel_futures=True)


def training_batches(sampler: BalancedSampler, first_step: int, workers: int | None = None) -> PrefetchingBatches:
    """Endless (images, labels) training batches from batch ``first_step``
    on, in the stored dtypes."""

    def produce(step):
        images, labels = sampler.batch(step)
        return np.ascontiguousarray(images), np.ascontiguousarray(labels)

    return PrefetchingBatches(produce, first_step, workers=workers)


def as_generator(batches: PrefetchingBatches):
    """The batches as a Python generator, the form Keras takes from every
    backend for an endless stream (it keeps one across epochs when
    ``steps_per_epoch`` is given)."""
    yield from batches


class ValidationBatches(keras.utils.PyDataset):
    """Every development slice once, in order, unaugmented, in batches of
    ``batch_size``; indexable, so Keras goes over it again each epoch."""

    def __init__(self, bank: SliceBank, batch_size: int, workers: int | None = None):
        super().__init__(workers=workers or default_workers(), use_multiprocessing=False, max_queue_size=4)
        self.bank, self.batch_size = bank, batch_size

    def __len__(self):
        return validation_steps(self.bank, self.batch_size)

    def __getitem__(self, index):
        rows = self.bank.centres[index * self.batch_size : (index + 1) * self.batch_size]
        return self.bank.inputs(rows), self.bank.targets(rows)


def validation_steps(bank: SliceBank, batch_size: int) -> int:
    return max(1, math.ceil(len(bank.centres) / batch_size))
