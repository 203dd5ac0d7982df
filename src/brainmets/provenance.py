"""What produced a run: software versions, configuration, code commit, seeds."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import subprocess
from pathlib import Path

PACKAGES = (
    "brainmets", "snakemake", "numpy", "scipy", "nibabel", "pandas", "matplotlib",
    "pillow", "jsonschema", "tensorflow", "keras", "nipype", "antspyx",
)


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(repo_dir) -> dict:
    """Commit of the workflow's code, and whether it had local changes."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=repo_dir, capture_output=True, text=True, timeout=30)

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip() != ""
        return {"commit": head.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}


def build_provenance(config: dict, repo_dir, seeds: dict, patients: list[str]) -> dict:
    return {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "workflow": {"path": str(Path(repo_dir).resolve()), **git_state(repo_dir)},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "config": config,
        "seeds": seeds,
        "patients": patients,
    }


PHANTOM_SEED_NOTE = "each patient draws from numpy SeedSequence([master, patient index])"


def run_seeds(config: dict, patients: list[str]) -> dict:
    """The run's master seed and, for the phantom cohort, each patient's
    seed (the entropy of its SeedSequence, in the order of ``patients``)."""
    seeds = {"master": config["seed"]}
    if config["cohort"]["source"] == "phantom":
        from .phantom.generate import patient_seed_sequence

        seeds["phantom_patients"] = {
            pid: patient_seed_sequence(config["seed"], i).entropy for i, pid in enumerate(patients)
        }
        seeds["phantom_note"] = PHANTOM_SEED_NOTE
    return seeds
