"""Accelerators and multi-GPU placement, whatever the Keras backend."""

from __future__ import annotations

import contextlib

import keras


def accelerator_count() -> int:
    """GPUs visible to the active Keras backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return sum(d.platform == "gpu" for d in jax.devices())
    if backend == "torch":
        import torch

        return torch.cuda.device_count()
    return 0


@contextlib.contextmanager
def distribution_scope():
    """Inside ``tf.distribute.MirroredStrategy`` over all GPUs when there
    are several (the paper trained on two); yields the replica count."""
    if keras.backend.backend() == "tensorflow" and accelerator_count() > 1:
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()
        with strategy.scope():
            yield strategy.num_replicas_in_sync
    else:
        yield 1


def limit_cpu_threads(threads: int | None) -> None:
    """Keep TensorFlow within the cores a scheduler gave the job."""
    if threads and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
