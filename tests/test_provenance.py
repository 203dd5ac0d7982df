"""What produced a run (``provenance``): the code's commit and whether it
had local changes, the packages, the configuration, the seeds."""

import subprocess

from brainmets.provenance import build_provenance, git_state, package_versions


def _git(folder, *args):
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


def test_the_commit_and_local_changes_of_the_code(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "dirty": None}  # not a repository
    _git(tmp_path, "init", "-q")
    (tmp_path / "Snakefile").write_text("rule all:\n")
    _git(tmp_path, "add", "Snakefile")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    state = git_state(tmp_path)
    assert len(state["commit"]) == 40 and state["dirty"] is False
    (tmp_path / "Snakefile").write_text("rule all:\n    input: []\n")
    assert git_state(tmp_path)["dirty"] is True
    (tmp_path / "notes.txt").write_text("an untracked file is not a change of the code")
    _git(tmp_path, "checkout", "-q", "Snakefile")
    assert git_state(tmp_path)["dirty"] is False


def test_the_record_holds_the_configuration_seeds_and_versions(tmp_path):
    config = {"seed": 3, "cohort": {"source": "sheet"}}
    record = build_provenance(config, tmp_path, {"master": 3}, ["p1", "p2"])
    assert record["config"] == config and record["seeds"] == {"master": 3} and record["patients"] == ["p1", "p2"]
    assert record["workflow"]["path"] == str(tmp_path.resolve()) and record["created"].endswith("+00:00")
    versions = package_versions(("numpy", "no-such-package-here"))
    assert versions["numpy"] and versions["no-such-package-here"] is None
