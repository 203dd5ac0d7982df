"""Errors that name where they lie (``errors``): the message says it, the
kind tells a reporter whether the patient is named."""

import pytest

from brainmets.errors import CohortError, InputError, NamedError, PatientError


def test_each_kind_names_where_the_problem_lies():
    error = InputError("p1", "/data/t1.nii.gz", "not a NIfTI file")
    assert str(error) == "patient 'p1', file /data/t1.nii.gz: not a NIfTI file"
    assert (error.patient, error.file, error.problem) == ("p1", "/data/t1.nii.gz", "not a NIfTI file")
    assert str(PatientError("p1", "no reference sequence")) == "patient 'p1': no reference sequence"
    assert all(isinstance(e, NamedError) and e.names_patient for e in (error, PatientError("p", "x")))
    assert not CohortError("sheet cohort.tsv: no id column").names_patient


def test_named_errors_are_value_errors_for_callers_that_catch_those():
    with pytest.raises(ValueError):
        raise InputError("p1", "f", "bad")
