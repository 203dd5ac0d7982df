"""The brainmets-phantom command writes what the workflow's rule writes."""

import subprocess
import sys

from brainmets.phantom.cli import main
from brainmets.phantom.generate import phantom_paths


def test_phantom_command_writes_patients(tmp_path):
    main(["--out", str(tmp_path), "--patients", "6", "--scale", "4", "--only", "002"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub-002"]
    paths = phantom_paths(tmp_path / "sub-002", "002")
    assert all(path.exists() for path in paths.values())


def test_phantom_command_help():
    result = subprocess.run([sys.executable, "-m", "brainmets.phantom.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--patients" in result.stdout
