"""Shared fixtures: tiny synthetic patients, made once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from brainmets.phantom.generate import PhantomConfig, generate_patient

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"
SEED = 1234


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
        patients[pid] = (generate_patient(tiny_config(), SEED, index, pid, subgroup, out), out)
    return patients


@pytest.fixture(scope="session")
def demo_scale_patient(tmp_path_factory):
    """One patient at the demo's resolution (about 2 mm), 256x256 BRAVO."""
    out = tmp_path_factory.mktemp("demo_phantom") / "sub-101"
    meta = generate_patient(tiny_config(resolution_scale=2.0, fraction_512=0.0, max_lesions=30), SEED, 101, "101", "4-10", out)
    return meta, out


def require_realdata(*names):
    """Paths of real MRI files, or a clean skip when the folder is absent."""
    paths = [REALDATA / n for n in names]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"real MRI test data not found: {', '.join(missing)}")
    return paths
