"""The four sequences, the reference a patient's images are brought onto,
the image brain extraction runs on, and the paper's lesion-count subgroups."""

import pytest

from brainmets.sequences import (
    REFERENCE_PREFERENCE,
    SEQUENCES,
    PatientGrid,
    alternative_reference,
    brain_extraction_source,
    choose_reference,
    patient_grid,
    reference_order,
    subgroup_of,
)


def test_the_reference_is_the_first_preferred_sequence_given():
    assert choose_reference(SEQUENCES) == "BRAVO"
    assert choose_reference(("T1pre", "T1gd", "FLAIR")) == "T1gd"  # public collections: no BRAVO
    assert choose_reference(SEQUENCES, ["T1gd", "BRAVO"]) == "T1gd"
    with pytest.raises(ValueError, match=r"none of the reference sequences \(BRAVO, T1gd"):
        choose_reference(("T1pre", "FLAIR"))
    with pytest.raises(ValueError, match="unknown sequence"):
        choose_reference(SEQUENCES, ["T2"])


def test_reference_order_accepts_one_name_or_several():
    assert reference_order() == REFERENCE_PREFERENCE
    assert reference_order("T1gd") == ("T1gd",)
    assert reference_order(["T1gd", "BRAVO"]) == ("T1gd", "BRAVO")


def test_brain_extraction_runs_on_the_t1pre_else_the_reference():
    assert brain_extraction_source(SEQUENCES, "BRAVO") == "T1pre"
    assert brain_extraction_source(("T1gd", "FLAIR"), "T1gd") == "T1gd"


def test_patient_grid_decides_reference_and_brain_extraction_together():
    assert patient_grid(SEQUENCES) == PatientGrid("BRAVO", "T1pre")
    reference, bet_on = patient_grid(("T1gd", "FLAIR"), ["BRAVO", "T1gd"])  # no BRAVO, no T1pre
    assert (reference, bet_on) == ("T1gd", "T1gd")
    assert patient_grid(SEQUENCES, "T1gd").reference == "T1gd"
    with pytest.raises(ValueError, match="none of the reference sequences"):
        patient_grid(("T1pre", "FLAIR"))


def test_alternative_reference_only_where_the_brain_mask_survives_without_the_reference():
    assert alternative_reference(SEQUENCES) == "T1gd"
    # Brain extraction on the reference itself: without it there is no mask.
    assert alternative_reference(("BRAVO", "T1gd", "FLAIR")) is None
    # Nothing else of the preference is given.
    assert alternative_reference(("T1pre", "BRAVO", "FLAIR")) is None


@pytest.mark.parametrize("lesions, group", [(0, "0"), (1, "1-3"), (3, "1-3"), (4, "4-10"), (10, "4-10"), (11, ">10"), (60, ">10")])
def test_subgroups_follow_the_paper(lesions, group):
    assert subgroup_of(lesions) == group
