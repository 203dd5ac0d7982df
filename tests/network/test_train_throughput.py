"""The training-throughput benchmark at tiny settings, on the CPU."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_benchmark_reports_rates_and_the_matmul_reference(tmp_path):
    out = tmp_path / "result.json"
    args = ["--size", "32", "--width", "0.0625", "--batch", "4", "--patients", "3", "--slices", "12", "--steps", "4", "--repeats", "1", "--warmup-steps", "1", "--json", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "KERAS_BACKEND": "tensorflow"}
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "train_throughput.py"), *args], env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    last = dict(item.split("=") for item in result.stdout.strip().splitlines()[-1].split())
    report = json.loads(out.read_text())
    assert last["backend"] == report["backend"] == "tensorflow"
    assert report["patients"] == 3 and report["slices_in_memory"] == 36 and report["size"] == 32
    assert report["steps_per_s"] > 0 and report["loader_batches_per_s"] > 0 and report["matmul_tflop_per_s"] > 0
    assert 0 <= report["data_wait"] < 1 and report["inference_s"] > 0
    # Ten epochs of the paper's 22,000 slices, in batches of 4, at the measured rate.
    assert report["ten_epochs_min"] == pytest.approx(10 * 5500 / report["steps_per_s"] / 60, rel=0.01)
