"""Which operating point goes with which inputs."""

import logging

import pytest

from brainmets.errors import PatientError
from brainmets.input_sets import COMPLETE, choose_input_set, input_sets, label_of, threshold_for, thresholds_by_input_set

THRESHOLDS = {"operating_threshold": 0.88, "input_sets": {"without BRAVO": {"operating_threshold": 0.41}, "without BRAVO and T1gd": {"operating_threshold": 0.2}}}


def test_labels_of_missing_sets_in_any_order():
    assert label_of([]) == COMPLETE and label_of(["BRAVO"]) == "without BRAVO"
    assert label_of(["T1gd", "BRAVO"]) == label_of(["BRAVO", "T1gd"]) == "without BRAVO and T1gd"
    assert label_of(["T1pre", "FLAIR"]) is None


def test_each_input_set_gets_its_own_threshold():
    assert thresholds_by_input_set(THRESHOLDS) == {COMPLETE: 0.88, "without BRAVO": 0.41, "without BRAVO and T1gd": 0.2}
    assert threshold_for(THRESHOLDS, ["BRAVO"]) == (0.41, "operating point of the input set 'without BRAVO'")
    assert threshold_for(THRESHOLDS, ["T1gd", "BRAVO"])[0] == 0.2
    # A model without sequence dropout has only the complete set's.
    assert thresholds_by_input_set({"operating_threshold": 0.5}) == {COMPLETE: 0.5}


def test_a_set_without_its_own_point_says_so(caplog):
    caplog.set_level(logging.WARNING)
    cut, what = threshold_for(THRESHOLDS, ["FLAIR"])
    assert cut == 0.88 and "complete inputs (none was chosen without FLAIR)" in what
    assert "may find too little" in caplog.text


@pytest.mark.parametrize("sequences, expected", [(["T1pre", "T1gd", "FLAIR"], 4), (["T1pre", "T1gd", "BRAVO", "FLAIR"], 6), (["T1gd"], 1)])
def test_input_sets_of_a_model(sequences, expected):
    assert len(input_sets(sequences)) == expected


def test_the_grid_of_each_input_set_is_the_first_reference_it_has():
    from brainmets.input_sets import grid_of

    card = {"sequences": ["T1pre", "T1gd", "BRAVO", "FLAIR"], "preprocessing": {"reference": ["BRAVO", "T1gd"]}}
    assert grid_of(card, ()) == "BRAVO" and grid_of(card, ["FLAIR"]) == "BRAVO"
    assert grid_of(card, ["BRAVO"]) == "T1gd"
    assert grid_of(card, ["BRAVO", "T1gd"]) is None  # no reference left: the workflow's grid is used
    # Older cards without the setting: the default preference.
    assert grid_of({"sequences": card["sequences"]}, ["BRAVO"]) == "T1gd"


def test_the_alternative_reference_needs_a_brain_mask_without_the_reference():
    from brainmets.sequences import alternative_reference

    assert alternative_reference(["T1pre", "T1gd", "BRAVO", "FLAIR"], ["BRAVO", "T1gd"]) == "T1gd"
    # Brain extraction runs on the BRAVO when there is no T1pre: no mask without it.
    assert alternative_reference(["T1gd", "BRAVO", "FLAIR"], ["BRAVO", "T1gd"]) is None
    assert alternative_reference(["T1pre", "BRAVO", "FLAIR"], ["BRAVO", "T1gd"]) is None
    assert alternative_reference(["T1pre", "T1gd", "FLAIR"], ["BRAVO", "T1gd"]) is None  # already on the T1gd


CARD = {"sequences": ["T1pre", "T1gd", "BRAVO", "FLAIR"], "sequence_dropout": 0.5, "accepted_missing": [["BRAVO"], ["BRAVO", "T1gd"]]}


def test_choose_input_set_takes_the_models_sequences_and_their_threshold():
    given = {"T1pre": "a", "T1gd": "b", "FLAIR": "c", "T2": "d"}
    chosen = choose_input_set("p1", given, CARD, THRESHOLDS)
    assert chosen.images == {"T1pre": "a", "T1gd": "b", "FLAIR": "c"}
    assert chosen.unused == ("T2",) and chosen.missing == ("BRAVO",) and chosen.name == "without BRAVO"
    assert (chosen.threshold, chosen.chosen_as) == (0.41, "operating point of the input set 'without BRAVO'")
    complete = choose_input_set("p1", {**given, "BRAVO": "e"}, CARD, THRESHOLDS)
    assert (complete.threshold, complete.chosen_as, complete.name) == (0.88, "operating point of complete inputs", COMPLETE)
    forced = choose_input_set("p1", given, CARD, {}, override=0.3)
    assert (forced.threshold, forced.chosen_as) == (0.3, "value given with --threshold")


def test_choose_input_set_refuses_what_the_model_cannot_do_without():
    with pytest.raises(PatientError, match=r"patient 'p2'.*T1pre missing, but model m7 was trained to do without only these sets"):
        choose_input_set("p2", {"T1gd": "b", "BRAVO": "c", "FLAIR": "d"}, CARD, THRESHOLDS, model="model m7")
    with pytest.raises(PatientError, match="without sequence dropout and needs all of"):
        choose_input_set("p2", {"T1gd": "b"}, {"sequences": ["T1gd", "FLAIR"]}, THRESHOLDS)
    with pytest.raises(ValueError, match="operating point of the input set 'without BRAVO' is 1.5, not a number from 0 to 1"):
        choose_input_set("p2", {"T1pre": "a", "T1gd": "b", "FLAIR": "c"}, CARD, {"operating_threshold": 0.5, "input_sets": {"without BRAVO": {"operating_threshold": 1.5}}})
