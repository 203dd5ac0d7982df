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
