"""The whole workflow on the tiny cohort through a real SLURM cluster.

Stands up slurmctld, slurmd and munge on localhost (installing Debian's
packages if needed; skipped only where that is impossible), submits the
workflow through ``profiles/slurm`` with site settings for this cluster,
and checks that jobs really ran through SLURM and that the outputs match a
local run. Bounded in time: a hang fails.
"""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from .conftest import REPO
from .slurm_cluster import Cluster, unavailable_reason

TIME_LIMIT_S = 45 * 60


def site_profile(folder: Path, cluster: Cluster) -> Path:
    """profiles/slurm with this cluster's site settings filled in."""
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.v8+.yaml").read_text())
    profile["default-resources"]["slurm_partition"] = "debug"
    del profile["default-resources"]["slurm_account"]
    profile["slurm-no-account"] = True
    # One small node without GPUs: training fits its memory and cores.
    profile["set-resources"]["train"] = {"slurm_partition": "debug", "mem_mb": 4000}
    profile["max-threads"] = cluster.cpus
    profile["slurm-keep-successful-logs"] = True
    profile["slurm-init-seconds-before-status-checks"] = 10
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.v8+.yaml").write_text(yaml.safe_dump(profile))
    return folder


class SlurmRun:
    """The tiny workflow submitted through a one-node cluster. It is started
    when the test session starts (tests/conftest.py) and runs beside the
    other tests, which it mostly waits on (sbatch, squeue polling); the test
    below waits for it and checks what it did."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.workdir = folder / "work"
        self.log = folder / "snakemake.log"
        self.skip_reason = unavailable_reason()
        self.cluster = self.proc = None
        self.output, self.returncode, self.wall = "", None, 0.0
        self.start_error: Exception | None = None

    def start(self) -> None:
        if self.skip_reason:
            return
        # The slurm user must reach its state folder: not under pytest's private tmp.
        state = Path(tempfile.mkdtemp(prefix="brainmets-slurm-", dir="/tmp"))
        state.chmod(0o755)
        self.cluster = Cluster(state)
        self.cluster.start()
        profile = site_profile(self.folder / "profile", self.cluster)
        overlay = self.folder / "no_gpu.yaml"
        overlay.write_text("training:\n  gpus: 0\n")
        self.workdir.mkdir()
        cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--profile", str(profile),
               "--configfile", str(REPO / "configs" / "test.yaml"), str(overlay)]
        self.started = time.monotonic()
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(cmd, cwd=self.workdir, env=self.cluster.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self) -> None:
        """Until the workflow ends; a run past TIME_LIMIT_S fails the test."""
        try:
            self.proc.wait(timeout=max(1.0, TIME_LIMIT_S - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            self._kill()
            pytest.fail(f"workflow through SLURM did not finish in {TIME_LIMIT_S} s:\n" + self.log.read_text()[-3000:])
        self.wall = time.monotonic() - self.started
        self.returncode, self.output = self.proc.returncode, self.log.read_text()

    def _kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        subprocess.run(["scancel", "--user=root"], env=self.cluster.env)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self._kill()
        if self.cluster is not None:
            self.cluster.stop()
            shutil.rmtree(self.cluster.folder, ignore_errors=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_whole_workflow_through_slurm(slurm_run, tiny_run):
    if slurm_run.skip_reason:
        pytest.skip(slurm_run.skip_reason)
    if slurm_run.start_error:
        pytest.fail(f"the cluster or the workflow did not start: {slurm_run.start_error!r}")
    slurm_run.wait()
    output, workdir, wall = slurm_run.output, slurm_run.workdir, slurm_run.wall
    assert slurm_run.returncode == 0, output[-5000:]
    cluster = slurm_run.cluster

    submitted = {int(j) for j in re.findall(r"submitted with SLURM jobid (\d+)", output)}
    assert len(submitted) >= 10, output[-3000:]
    assert submitted <= cluster.started_jobs()  # the controller ran every one
    slurm_logs = list((workdir / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert len(slurm_logs) == len(submitted)
    assert any("rule_train" in str(p) for p in slurm_logs)
    print(f"SLURM run: {len(submitted)} jobs in {wall:.0f} s")

    run = workdir / "results" / "test"
    # Deterministic outputs equal the local run's byte for byte.
    patterns = ["phantom/**/*.nii.gz", "cohort/**/*.nii.gz", "preproc/**/*.nii.gz", "preproc/**/*.mat", "records/*.tfrecord.gz", "records/splits.json"]
    compared = 0
    for pattern in patterns:
        local = sorted(p.relative_to(tiny_run) for p in tiny_run.glob(pattern))
        remote = sorted(p.relative_to(run) for p in run.glob(pattern))
        assert local == remote and local, pattern
        for rel in local:
            assert digest(run / rel) == digest(tiny_run / rel), rel
            compared += 1
    assert compared > 100
    for rel in ("models/main/model.keras", "metrics/per_patient.tsv", "tables/table3a.md", "figures/figure3.png"):
        assert (run / rel).exists(), rel
