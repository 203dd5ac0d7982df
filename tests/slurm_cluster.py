"""A real one-node SLURM cluster on localhost, for the integration test.

Debian's slurmctld, slurmd and munge, with state, logs and pid files in a
private folder, started without systemd and stopped by the PIDs in their
pid files. The configuration goes to /etc/slurm/slurm.conf, where job steps
(srun inside a job) look for it; a configuration already there is put back
afterwards. Accounting is off, so job status comes from squeue; MinJobAge
keeps finished jobs visible to it long enough.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")


def unavailable_reason() -> str | None:
    """Why a cluster cannot be stood up here, or None."""
    if os.geteuid() != 0:
        return "the SLURM integration test needs root (it starts slurmctld, slurmd and munged)"
    if all(shutil.which(b) for b in ("slurmctld", "slurmd", "munged", "sbatch")):
        return None
    if not shutil.which("apt-get"):
        return "slurmctld/slurmd/munge are not installed and apt-get is not available to install them"
    result = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES],
        capture_output=True, text=True, timeout=600, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    if result.returncode != 0:
        update = subprocess.run(["apt-get", "update"], capture_output=True, text=True, timeout=600)
        result = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES], capture_output=True, text=True, timeout=600)
        if update.returncode != 0 or result.returncode != 0:
            return f"could not install {' '.join(PACKAGES)} with apt-get: {result.stderr[-500:]}"
    return None


def _memory_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


class Cluster:
    def __init__(self, folder: Path, min_job_age: int = 600):
        self.folder = folder
        self.conf = SYSTEM_CONF
        self.backup = folder / "slurm.conf.before"
        self.env = dict(os.environ)
        self.cpus = os.cpu_count() or 1
        self.memory = _memory_mib() - 1024  # leave room for the daemons
        self.min_job_age = min_job_age
        self._started_munge = False

    def write_config(self) -> None:
        d = self.folder
        for sub in ("state", "spool"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(d / "state", "slurm", "slurm")
        if self.conf.exists():
            shutil.copy2(self.conf, self.backup)
        self.conf.parent.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(
            f"""ClusterName=brainmets-test
SlurmctldHost=localhost
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge={self.min_job_age}
ReturnToService=2
SchedulerType=sched/backfill
NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""
        )

    def _start_munge(self) -> None:
        if subprocess.run(["munge", "-n"], capture_output=True).returncode == 0:
            return  # a munged is already running
        run = Path("/run/munge")
        run.mkdir(parents=True, exist_ok=True)
        shutil.chown(run, "munge", "munge")
        subprocess.run(["runuser", "-u", "munge", "--", "/usr/sbin/munged"], check=True, timeout=30)
        self._started_munge = True

    def start(self, timeout: float = 60) -> None:
        self.write_config()
        self._start_munge()
        subprocess.run(["/usr/sbin/slurmctld"], env=self.env, check=True, timeout=30)
        subprocess.run(["/usr/sbin/slurmd", "-N", "localhost"], env=self.env, check=True, timeout=30)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], env=self.env, capture_output=True, text=True).stdout.strip()
            if state == "idle":
                return
            time.sleep(0.5)
        raise RuntimeError(f"SLURM node not idle after {timeout} s (state {state!r}); see {self.folder}/slurmctld.log")

    def stop(self) -> None:
        pid_files = [self.folder / "slurmd.pid", self.folder / "slurmctld.pid"]
        if self._started_munge:
            pid_files.append(Path("/run/munge/munged.pid"))
        for pid_file in pid_files:
            if not pid_file.exists():
                continue
            pid = int(pid_file.read_text().split()[0])
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                continue
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
        if self.backup.exists():
            shutil.copy2(self.backup, self.conf)
        else:
            self.conf.unlink(missing_ok=True)

    def started_jobs(self) -> set[int]:
        """Ids of the jobs the controller started, from its log."""
        log = (self.folder / "slurmctld.log").read_text(errors="replace")
        return {int(m) for m in re.findall(r"(?:sched: Allocate|_start_job: Started) JobId=(\d+)", log)}
