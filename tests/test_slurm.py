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


@pytest.fixture(scope="module")
def cluster():
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    # The slurm user must reach its state folder: not under pytest's private tmp.
    folder = Path(tempfile.mkdtemp(prefix="brainmets-slurm-", dir="/tmp"))
    folder.chmod(0o755)
    cluster = Cluster(folder)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


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


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_whole_workflow_through_slurm(cluster, tiny_run, tmp_path):
    profile = site_profile(tmp_path / "profile", cluster)
    overlay = tmp_path / "no_gpu.yaml"
    overlay.write_text("training:\n  gpus: 0\n")
    workdir = tmp_path / "work"
    workdir.mkdir()
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--profile", str(profile),
           "--configfile", str(REPO / "configs" / "test.yaml"), str(overlay)]
    started = time.monotonic()
    with open(tmp_path / "snakemake.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=workdir, env=cluster.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=TIME_LIMIT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            subprocess.run(["scancel", "--user=root"], env=cluster.env)
            pytest.fail(f"workflow through SLURM did not finish in {TIME_LIMIT_S} s:\n" + (tmp_path / "snakemake.log").read_text()[-3000:])
    output = (tmp_path / "snakemake.log").read_text()
    assert proc.returncode == 0, output[-5000:]
    wall = time.monotonic() - started

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
