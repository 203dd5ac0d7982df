"""GPU checks: GPUs asked for but absent fail at once, gpus: 0 hides them,
memory growth is switched on."""

import pytest
import tensorflow as tf

from brainmets.network.devices import NoGPUError, configure_gpus


class FakeConfig:
    """tf.config as a job sees it, with ``n`` GPUs; records what is set."""

    def __init__(self, n):
        self.gpus = [f"GPU:{i}" for i in range(n)]
        self.visible = list(self.gpus)
        self.growth = {}
        self.experimental = self

    def list_physical_devices(self, kind):
        return list(self.gpus) if kind == "GPU" else []

    def set_visible_devices(self, devices, kind):
        self.visible = list(devices)

    def set_memory_growth(self, device, on):
        self.growth[device] = on


def test_gpus_asked_for_but_none_visible_fails_with_the_check_to_run():
    with pytest.raises(NoGPUError, match=r"training asks for 1 GPU\(s\), but TensorFlow sees none.*list_physical_devices"):
        configure_gpus(1, False, "training", FakeConfig(0))


def test_cpu_fallback_when_allowed(caplog):
    assert configure_gpus(2, True, "training", FakeConfig(0)) == 0
    assert "running on the CPU" in caplog.text


def test_zero_gpus_hides_them():
    config = FakeConfig(2)
    assert configure_gpus(0, False, "inference", config) == 0
    assert config.visible == []


def test_memory_growth_on_every_gpu():
    config = FakeConfig(2)
    assert configure_gpus(1, False, "training", config) == 2
    assert config.growth == {"GPU:0": True, "GPU:1": True} and config.visible == ["GPU:0", "GPU:1"]


def test_real_tensorflow_sees_no_gpu_after_hiding():
    configure_gpus(0, False, "test")
    assert tf.config.get_visible_devices("GPU") == []
