"""Shared fixtures: tiny synthetic patients, made once per test session."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from brainmets.phantom.generate import PhantomConfig, generate_patient, phantom_paths

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"
SEED = 1234
TINY = ("001", "002", "003", "004", "005", "006")


def tiny_config(**overrides) -> PhantomConfig:
    """Coarse 4 mm grids: a patient in about a second."""
    settings = dict(resolution_scale=4.0, max_lesions=16, cortical_vessels=8)
    settings.update(overrides)
    return PhantomConfig(**settings)


@pytest.fixture(scope="session")
def tiny_patients(tmp_path_factory):
    """One tiny patient per lesion-count subgroup: (metadata, folder) pairs."""
    root = tmp_path_factory.mktemp("phantom")
    patients = {}
    for index, (pid, subgroup) in enumerate([("001", "1-3"), ("002", "4-10"), ("003", ">10")]):
        out = root / f"sub-{pid}"
        patients[pid] = (generate_patient(tiny_config(), SEED, index, pid, subgroup, phantom_paths(out, pid)), out)
    return patients


@pytest.fixture(scope="session")
def demo_scale_patient(tmp_path_factory):
    """One patient at the demo's resolution (about 2 mm), 256x256 BRAVO."""
    out = tmp_path_factory.mktemp("demo_phantom") / "sub-101"
    meta = generate_patient(tiny_config(resolution_scale=2.0, fraction_512=0.0, max_lesions=30), SEED, 101, "101", "4-10", phantom_paths(out, "101"))
    return meta, out


@pytest.fixture(scope="session", autouse=True)
def slurm_run(request, tmp_path_factory):
    """The workflow through SLURM (tests/test_slurm.py), started with the
    session when that test is selected, so that it runs beside the others."""
    if not any(item.module and item.module.__name__.endswith("test_slurm") for item in request.session.items):
        yield None
        return
    from .test_slurm import SlurmRun

    run = SlurmRun(tmp_path_factory.mktemp("slurm"))
    try:
        run.start()
    except Exception as exc:  # reported by the test itself, not by every test
        run.start_error = exc
    try:
        yield run
    finally:
        run.stop()


def pytest_collection_modifyitems(items):
    """Tests that run the workflow or a cluster form the slow tier; the
    fast tier leaves them and the ``slow`` tests out
    (``./run.sh test -m "not workflow and not slow"``)."""
    for item in items:
        module = item.module.__name__ if item.module else ""
        if "tiny_run" in getattr(item, "fixturenames", ()) or module.endswith(("test_workflow", "test_slurm")):
            item.add_marker(pytest.mark.workflow)
        if "trained" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)  # the fixture trains two networks


@pytest.fixture(scope="session")
def records(tmp_path_factory):
    """Three small preprocessed patients and their slice records."""
    from .tiny_network import write_records

    folder = tmp_path_factory.mktemp("records")
    return [write_records(folder, f"r{i}", seed=i) for i in range(3)]


@pytest.fixture(scope="session")
def trained(records, tmp_path_factory):
    """Two tiny networks trained with sequence dropout and the same seed
    (``a`` and ``b``), on the first two of ``records`` (the third: dev)."""
    from brainmets.network.paths import model_files
    from brainmets.network.train import train_model

    from .tiny_network import NETWORK, PREPROCESSING, SETTINGS

    root = tmp_path_factory.mktemp("train")
    indices = [r[1] for r in records]
    for name, seed in (("a", 7), ("b", 7)):
        train_model(indices[:2], indices[2:], model_files(root / name), NETWORK, SETTINGS, PREPROCESSING, seed, context=3)
    return root


def require_realdata(*names):
    """Paths of real MRI files, or a clean skip when the folder is absent."""
    paths = [REALDATA / n for n in names]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"real MRI test data not found: {', '.join(missing)}")
    return paths


def snakemake(workdir, *args, check=True):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "2", *args]
    result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def run_until_first_checkpoint(workdir, *args, timeout=900):
    """Start the workflow and kill it (SIGKILL, the whole process group, as a
    crashed node would) as soon as training has written its first epoch."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "2", *args]
    checkpoints = workdir / "results" / "test" / "models" / "main" / "checkpoints"
    with open(workdir / "interrupted.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=workdir, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + timeout
        try:
            # state.json is written last, once the epoch's checkpoint is complete.
            while not (checkpoints / "state.json").exists():
                if proc.poll() is not None:
                    raise AssertionError("workflow ended before training wrote a checkpoint: " + (workdir / "interrupted.log").read_text()[-3000:])
                if time.monotonic() > deadline:
                    raise AssertionError("no training checkpoint within the time limit")
                time.sleep(0.1)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return json.loads((checkpoints / "state.json").read_text())


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The whole workflow on the tiny cohort, killed during training and rerun."""
    workdir = tmp_path_factory.mktemp("run")
    config = str(REPO / "configs/test.yaml")
    state = run_until_first_checkpoint(workdir, "--configfile", config)
    (workdir / "state_at_kill.json").write_text(json.dumps(state))
    # As after a crash: release the dead run's lock, rerun what it left incomplete.
    snakemake(workdir, "--configfile", config, "--unlock")
    snakemake(workdir, "--configfile", config, "--rerun-incomplete")
    return workdir / "results" / "test"
