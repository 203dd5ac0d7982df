"""The pretraining target (configs/pretrain.yaml) in miniature: the tiny
cohort drawn on real anatomy, trained through the whole workflow, and a
card that says what the model was trained on."""

import json

import pytest

from ..conftest import REPO, snakemake


@pytest.mark.workflow
def test_pretraining_config_trains_a_model_on_synthetic_real_anatomy(tmp_path):
    configs = ["--configfile", str(REPO / "configs/pretrain.yaml"), str(REPO / "configs/test.yaml")]
    model = "results/test/models/main/model.keras"
    snakemake(tmp_path, model, *configs)
    card = json.loads((tmp_path / "results/test/models/main/model.json").read_text())
    assert card["training_cohort"]["anatomy"] == "mni152"
    assert "never seen a real scan" in card["training_cohort"]["warning"]
    assert card["preprocessing"]["reference"] == ["T1gd"]
    # Trained to do without the sequences public collections lack.
    assert ["BRAVO"] in card["accepted_missing"]
    patient = json.loads((tmp_path / "results/test/phantom/sub-001/sub-001_phantom.json").read_text())
    assert patient["anatomy"] == "mni152"
