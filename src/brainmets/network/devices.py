"""Accelerators and multi-GPU placement, whatever the Keras backend."""

from __future__ import annotations

import contextlib
import logging
import os

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


def make_deterministic() -> str:
    """Same seed, same weights, at some cost in speed on a GPU; returns what
    was done. TensorFlow: op determinism. JAX: XLA's deterministic GPU ops,
    a flag read when JAX first starts its GPU backend, so call this before
    anything asks JAX for its devices. PyTorch: deterministic algorithms and
    cuBLAS workspace. On a CPU all three are deterministic already."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        return "tensorflow op determinism"
    if backend == "jax":
        flag = "--xla_gpu_deterministic_ops=true"
        if flag not in os.environ.get("XLA_FLAGS", ""):
            os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
        return f"XLA_FLAGS {flag}"
    if backend == "torch":
        import torch

        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        return "torch deterministic algorithms"
    return "nothing"


def cache_compilations() -> str | None:
    """JAX: keep compiled steps on disk (``JAX_COMPILATION_CACHE_DIR``, else
    ``~/.cache/brainmets/jax``), so a resumed or repeated training does not
    compile the same step again (about 90 s at full width on a GPU).
    Returns the folder, or None under the other backends."""
    if keras.backend.backend() != "jax":
        return None
    import jax

    folder = os.environ.get("JAX_COMPILATION_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "brainmets", "jax")
    jax.config.update("jax_compilation_cache_dir", folder)
    return folder


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
    number of GPUs the job will use. Under JAX and PyTorch only the check
    is made: hide their GPUs with ``CUDA_VISIBLE_DEVICES=`` before the job
    starts, and JAX takes GPU memory as ``XLA_PYTHON_CLIENT_*`` say."""
    if keras.backend.backend() != "tensorflow":
        count = accelerator_count()
        if requested and not count:
            message = (
                f"{role} asks for {requested} GPU(s), but the {keras.backend.backend()} backend sees none "
                "(a JAX or PyTorch build with CUDA is needed); set the gpus setting to 0 "
                "or allow_cpu_fallback: true to run on the CPU"
            )
            if not allow_cpu_fallback:
                raise NoGPUError(message)
            log.warning("%s; running on the CPU (allow_cpu_fallback)", message)
        return count if requested else 0
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


def inference_job(smk):
    """The job's inference settings (``params.inference``), its devices
    chosen and its CPU threads limited, before the backend starts."""
    from .inference import InferenceSettings

    settings = InferenceSettings.from_config(smk.params.inference)
    configure_gpus(settings.gpus, settings.allow_cpu_fallback, "inference")
    limit_cpu_threads(smk.threads)
    return settings
