"""The preprocessing block as one settings object: from the configuration,
from a model card (older cards lack keys), and back to the block as given."""

import copy
import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from brainmets.preprocessing import registration
from brainmets.preprocessing.settings import BrainExtractionSettings, PreprocessingSettings, RegistrationSettings
from brainmets.sequences import REFERENCE_PREFERENCE

BLOCK = yaml.safe_load((Path(__file__).parents[2] / "config.yaml").read_text())["preprocessing"]


def test_from_the_configuration():
    settings = PreprocessingSettings.from_config(BLOCK)
    assert settings.inplane_size == BLOCK["inplane_size"]
    assert settings.normalization == BLOCK["normalization"]
    assert settings.mask_margin_mm == BLOCK["mask_margin_mm"]
    assert settings.reference == tuple(BLOCK["reference"])
    bet = BLOCK["brain_extraction"]
    assert settings.brain_extraction == BrainExtractionSettings(
        bet["engine"], bet["fractional_threshold"], bet["isotropic_mm"], bet["iterations"], tuple(bet["volume_limits_ml"]), bet["skull_stripped"]
    )
    reg = BLOCK["registration"]
    for key in registration.GATE_SETTINGS:
        assert getattr(settings.registration, key) == reg.get(key, registration.GATE_SETTINGS[key]), key
    assert settings.registration.rigid == registration.RigidSettings(
        **{k: v for k, v in reg.items() if k not in registration.GATE_SETTINGS}
    )


def test_the_card_keeps_the_block_as_given():
    settings = PreprocessingSettings.from_config(BLOCK)
    assert json.dumps(settings.to_dict()) == json.dumps(BLOCK)
    assert PreprocessingSettings.from_card({"preprocessing": settings.to_dict()}) == settings


def test_older_cards_get_the_defaults():
    old = copy.deepcopy(BLOCK)
    for key in ("reference", "mask_margin_mm"):
        del old[key]
    del old["brain_extraction"]["skull_stripped"]
    for key in registration.GATE_SETTINGS:
        old["registration"].pop(key, None)
    # Cards of models trained before the gate was calibrated on real heads
    # keep an absolute mutual-information floor: no check reads it.
    old["registration"]["min_mutual_information"] = 0.62
    settings = PreprocessingSettings.from_card({"preprocessing": old})
    assert settings.reference == REFERENCE_PREFERENCE
    assert settings.mask_margin_mm == 0.0
    assert settings.brain_extraction.skull_stripped == "auto"
    assert settings.registration == RegistrationSettings.from_config(old["registration"])
    assert {key: getattr(settings.registration, key) for key in registration.GATE_SETTINGS} == registration.GATE_SETTINGS
    assert settings.to_dict() == old


def test_one_reference_and_checked_values():
    settings = PreprocessingSettings.from_config(BLOCK)
    assert settings.on_reference("T1gd").reference == ("T1gd",)
    assert PreprocessingSettings.from_config({**BLOCK, "reference": "T1gd"}).reference == ("T1gd",)
    assert BrainExtractionSettings.from_config({**BLOCK["brain_extraction"], "skull_stripped": True}).skull_stripped == "true"
    with pytest.raises(ValueError, match="must be auto, true or false"):
        BrainExtractionSettings.from_config({**BLOCK["brain_extraction"], "skull_stripped": "maybe"})


def test_a_new_patient_is_always_stopped_by_an_implausible_registration():
    # configs/pretrain.yaml lets its synthetic heads through with a flag;
    # brainmets-predict repeats that card's preprocessing on a real
    # patient, whose sequences may come from another head.
    block = copy.deepcopy(BLOCK)
    block["registration"]["implausible"] = "warn"
    assert PreprocessingSettings.from_config(block).registration.implausible == "warn"
    from_card = PreprocessingSettings.from_card({"preprocessing": block})
    assert from_card.registration.implausible == "fail"
    assert replace(from_card.registration, implausible="warn") == PreprocessingSettings.from_config(block).registration
