"""The predictor (``predictor.Predictor``): a model folder checked before
anything loads, the patient's grid and input set decided with the model's
card, refusals naming the patient or the model's file. The whole path on a
trained model: tests/network/test_predict_without_bravo.py."""

import pytest

from brainmets.errors import PatientError
from brainmets.network.modelfolder import ModelFolderError
from brainmets.predictor import Predictor
from brainmets.sequences import SEQUENCES, PatientGrid

from tests.model_folder import write_model_folder


def test_a_model_folder_is_checked_before_anything_loads(tmp_path):
    folder = write_model_folder(tmp_path)
    (folder / "threshold.json").unlink()
    with pytest.raises(ModelFolderError, match="threshold.json: missing; give --threshold"):
        Predictor.from_folder(folder)
    predictor = Predictor.from_folder(folder, threshold=0.3)  # one threshold given: the file is not needed
    assert predictor.input_set("p1", {seq: f"{seq}.nii.gz" for seq in SEQUENCES}).threshold == 0.3
    with pytest.raises(ModelFolderError, match="not a folder"):
        Predictor.from_folder(tmp_path / "nowhere")


def test_grid_follows_the_cards_reference_order(tmp_path):
    predictor = Predictor.from_folder(write_model_folder(tmp_path, reference=["T1gd", "BRAVO"]))
    assert predictor.reference_preference == ("T1gd", "BRAVO")
    assert predictor.grid("p1", dict.fromkeys(SEQUENCES)) == PatientGrid("T1gd", "T1pre")
    assert predictor.grid("p1", dict.fromkeys(("BRAVO", "FLAIR"))) == PatientGrid("BRAVO", "BRAVO")
    with pytest.raises(PatientError, match="^patient 'p1'.*the grid every other sequence is brought onto"):
        predictor.grid("p1", dict.fromkeys(("T1pre", "FLAIR")))


def test_an_older_card_without_a_reference_order_keeps_the_bravo_first(tmp_path):
    predictor = Predictor.from_folder(write_model_folder(tmp_path))
    assert predictor.reference_preference[0] == "BRAVO" and not predictor.inputs_preprocessed


def test_input_set_takes_its_own_operating_point_or_is_refused(tmp_path):
    thresholds = {"operating_threshold": 0.5, "input_sets": {"without BRAVO": {"left_out": ["BRAVO"], "operating_threshold": 0.25}}}
    predictor = Predictor.from_folder(write_model_folder(tmp_path, accepted_missing=[["BRAVO"]], thresholds=thresholds))
    images = {seq: f"{seq}.nii.gz" for seq in SEQUENCES if seq != "BRAVO"}
    chosen = predictor.input_set("p1", images)
    assert chosen.missing == ("BRAVO",) and chosen.threshold == 0.25 and chosen.name == "without BRAVO"
    # Without a dropout model's consent: refused, naming the patient and what it lacks.
    with pytest.raises(PatientError, match="^patient 'p2'.*FLAIR"):
        predictor.input_set("p2", {seq: f"{seq}.nii.gz" for seq in ("T1pre", "T1gd", "BRAVO")})


def test_a_threshold_out_of_range_names_the_models_file(tmp_path):
    with pytest.raises(ModelFolderError, match=r"threshold.json: 'operating_threshold' must be a number from 0 to 1, not 1.5"):
        Predictor.from_folder(write_model_folder(tmp_path / "a", thresholds={"operating_threshold": 1.5}))
    thresholds = {"operating_threshold": 0.5, "input_sets": {"without BRAVO": {"left_out": ["BRAVO"], "operating_threshold": 1.5}}}
    predictor = Predictor.from_folder(write_model_folder(tmp_path / "b", accepted_missing=[["BRAVO"]], thresholds=thresholds))
    with pytest.raises(ModelFolderError, match=r"threshold.json: the operating point of the input set 'without BRAVO' is 1.5, not a number from 0 to 1"):
        predictor.input_set("p1", {seq: f"{seq}.nii.gz" for seq in SEQUENCES if seq != "BRAVO"})


def test_the_least_peak_of_a_lesion_comes_from_the_models_operating_points(tmp_path):
    """Older model folders have none (every component counts); a value out
    of range names the file."""
    assert Predictor.from_folder(write_model_folder(tmp_path / "old")).min_peak_probability == 0.0
    thresholds = {"operating_threshold": 0.4, "lesion_min_peak_probability": 0.95}
    assert Predictor.from_folder(write_model_folder(tmp_path / "new", thresholds=thresholds)).min_peak_probability == 0.95
    bad = Predictor.from_folder(write_model_folder(tmp_path / "bad", thresholds={**thresholds, "lesion_min_peak_probability": "high"}))
    with pytest.raises(ModelFolderError, match=r"threshold.json: 'lesion_min_peak_probability' must be a number from 0 to 1, not 'high'"):
        bad.min_peak_probability
