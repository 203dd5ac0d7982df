"""Accelerators and multi-GPU placement, whatever the Keras backend."""

from __future__ import annotations

import contextlib
import logging

import keras

log = logging.getLogger(__name__)


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


class NoGPUError(RuntimeError):
    pass


def configure_gpus(requested: int, allow_cpu_fallback: bool = False, role: str = "this job", tf_config=None) -> int:
    """Make the GPUs a job sees match what it asked for (TensorFlow).

    ``requested == 0`` hides every GPU from the job, so CPU jobs beside a
    training job leave its GPU memory alone. Otherwise each visible GPU
    grows its memory as needed instead of taking all of it at start; asking
    for GPUs when none is visible fails at once (a training meant for a GPU
    would take days on a CPU) unless ``allow_cpu_fallback``. Returns the
    number of GPUs the job will use."""
    if keras.backend.backend() != "tensorflow":
        return accelerator_count()
    if tf_config is None:
        import tensorflow as tf

        tf_config = tf.config
    gpus = tf_config.list_physical_devices("GPU")
    if requested == 0:
        tf_config.set_visible_devices([], "GPU")
        return 0
    if not gpus:
        message = (
            f"{role} asks for {requested} GPU(s), but TensorFlow sees none. Check with: "
            "python -c \"import tensorflow as tf; print(tf.config.list_physical_devices('GPU'))\" "
            "(a GPU install needs pip install -e '.[gpu]'), or set the gpus setting to 0 "
            "or allow_cpu_fallback: true to run on the CPU"
        )
        if not allow_cpu_fallback:
            raise NoGPUError(message)
        log.warning("%s; running on the CPU (allow_cpu_fallback)", message)
        return 0
    for gpu in gpus:
        tf_config.experimental.set_memory_growth(gpu, True)
    if len(gpus) < requested:
        log.warning("%s asks for %d GPUs, %d visible: using those", role, requested, len(gpus))
    return len(gpus)
