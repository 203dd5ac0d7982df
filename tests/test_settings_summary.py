"""The run's settings as the paper comparison lists them, the phantom's
seeds in the provenance, and the cohort facts the workflow reads from its
configuration."""

import copy
from pathlib import Path

import pytest
import yaml

from brainmets.cohort.sheet import PatientRecord
from brainmets.evaluation.tables import PAPER_SETTINGS
from brainmets.phantom.generate import patient_ids, patient_seed_sequence, plan_subgroups
from brainmets.provenance import PHANTOM_SEED_NOTE, run_seeds
from brainmets.settings_summary import COHORTS, run_settings, sequence_dropout_setting
from brainmets.workflow import inputs_preprocessed, phantom_patient_plan

CONFIG = yaml.safe_load((Path(__file__).parents[1] / "config.yaml").read_text())


def test_run_settings_of_the_default_configuration():
    settings = run_settings(CONFIG, ("T1pre", "T1gd", "BRAVO", "FLAIR"))
    training = CONFIG["training"]
    assert settings["patients"] == CONFIG["phantom"]["n_patients"]
    assert settings["epochs"] == training["epochs"]
    assert settings["batches per epoch"] == training["steps_per_epoch"]
    assert settings["training patches"] == f"{training['crop']}x{training['crop']}"
    assert settings["learning-rate drop"] == (
        f"x{training['learning_rate_drop_factor']:g} for the last {training['learning_rate_drop_epochs']} epochs"
    )
    assert settings["network inputs"] == "T1pre, T1gd, BRAVO, FLAIR"
    assert settings["sequence dropout"] == sequence_dropout_setting(training)


def test_run_settings_of_a_clinical_cohort():
    config = copy.deepcopy(CONFIG)
    config["cohort"]["source"] = "sheet"
    config["training"].update(steps_per_epoch=None, crop=None, learning_rate_drop_epochs=0, lesion_draw="slice")
    config["split"]["min_dev_patients"] = 1
    settings = run_settings(config, ("T1gd",))
    assert settings["lesion draws"] == PAPER_SETTINGS["lesion draws"] == "a slice with a lesion, uniformly"
    config["training"]["lesion_draw"] = "lesion"
    assert run_settings(config, ("T1gd",))["lesion draws"] == "a lesion, uniformly, then one of its slices"
    assert settings["patients"] is None and settings["smallest lesion diameter (mm)"] is None
    assert settings["batches per epoch"] == "one pass over the training slices"
    assert settings["training patches"] == "whole slices"
    assert settings["learning-rate drop"] == "none"
    assert settings["final weights"] == PAPER_SETTINGS["final weights"] == "the last epoch's"
    config["training"]["weight_averaging_epochs"] = 4
    assert run_settings(config, ("T1gd",))["final weights"] == "the mean of the last 4 epochs'"
    assert settings["development patients"] == "train:dev 20:1"
    assert set(COHORTS) == {"phantom", "sheet", "brainmetshare", "brats"}


@pytest.mark.parametrize(
    "training, words",
    [
        ({"sequence_dropout": 0}, "off"),
        ({"sequence_dropout": 0.2}, "0.2 of the examples lose any proper subset of the sequences"),
        (
            {"sequence_dropout": 0.2, "sequence_dropout_max_missing": 2, "sequence_dropout_warmup_epochs": 3},
            "0.2 of the examples lose at most 2 sequences, after 3 epochs on complete inputs",
        ),
        (
            {"sequence_dropout": 0.5, "sequence_dropout_sets": [["T1gd", "FLAIR"], ["T1pre"]]},
            "0.5 of the examples lose one of T1gd+FLAIR; T1pre",
        ),
        (
            {"sequence_dropout": 0.5, "sequence_dropout_max_missing": 1, "sequence_dropout_fill": "mid_grey", "sequence_dropout_warmup_epochs": 2},
            "0.5 of the examples lose at most 1 sequences (given as mid grey), after 2 epochs on complete inputs",
        ),
    ],
)
def test_sequence_dropout_in_words(training, words):
    assert sequence_dropout_setting(training) == words


def test_phantom_seeds_follow_the_patient_order():
    seeds = run_seeds(CONFIG, ["a", "b"])
    assert seeds["master"] == CONFIG["seed"]
    assert seeds["phantom_patients"] == {
        "a": patient_seed_sequence(CONFIG["seed"], 0).entropy,
        "b": patient_seed_sequence(CONFIG["seed"], 1).entropy,
    }
    assert seeds["phantom_note"] == PHANTOM_SEED_NOTE
    other = {**CONFIG, "cohort": {**CONFIG["cohort"], "source": "brats"}}
    assert run_seeds(other, ["a"]) == {"master": CONFIG["seed"]}


def test_phantom_patient_plan():
    ph = CONFIG["phantom"]
    ids = patient_ids(ph["n_patients"])
    planned = plan_subgroups(ph["n_patients"], ph["subgroup_proportions"], CONFIG["seed"])
    for i, pid in enumerate(ids):
        assert phantom_patient_plan(CONFIG, pid) == {"index": i, "subgroup": planned[pid]}


def test_inputs_preprocessed_only_when_every_patient_says_so():
    def record(pid, preprocessed):
        return PatientRecord(pid, {}, metadata={"preprocessed": preprocessed} if preprocessed is not None else {})

    assert inputs_preprocessed({"a": record("a", True), "b": record("b", True)})
    assert not inputs_preprocessed({"a": record("a", True), "b": record("b", None)})
