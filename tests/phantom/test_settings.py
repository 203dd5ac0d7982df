"""The phantom's settings in code default to what the config schema states."""

from dataclasses import fields
from pathlib import Path

import yaml

from brainmets.phantom import cli
from brainmets.phantom.generate import PhantomConfig

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


def _schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())["properties"]


def test_phantom_config_defaults_are_the_schemas():
    stated = {name: spec["default"] for name, spec in _schema()["phantom"]["properties"].items()}
    ours = {f.name: getattr(PhantomConfig(), f.name) for f in fields(PhantomConfig) if f.name != "protocol"}
    ours["subgroup_proportions"] = list(ours["subgroup_proportions"])
    assert ours == stated


def test_command_defaults_are_the_schemas():
    defaults = cli.parser().parse_args(["--out", "unused"])
    schema = _schema()
    assert defaults.seed == schema["seed"]["default"]
    assert defaults.patients == schema["phantom"]["properties"]["n_patients"]["default"]
    assert defaults.scale == schema["phantom"]["properties"]["resolution_scale"]["default"]
