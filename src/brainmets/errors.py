"""Errors whose message already says where the problem lies (the patient
and file, the cohort sheet, the model file). Whoever reports a failure
shows them as they are, telling them apart by kind, not by their text;
every other exception is wrapped with the patient and file it came from."""

from __future__ import annotations


class NamedError(ValueError):
    """A problem whose message names where it lies; ``names_patient``: the
    message names the patient too."""

    names_patient = True


class InputError(NamedError):
    """A problem with one patient's input."""

    def __init__(self, patient: str, file, problem: str):
        self.patient, self.file, self.problem = patient, str(file), problem
        super().__init__(f"patient {patient!r}, file {file}: {problem}")


class PatientError(NamedError):
    """A problem with one patient as a whole (no single file is to blame)."""

    def __init__(self, patient: str, problem: str):
        self.patient, self.problem = patient, problem
        super().__init__(f"patient {patient!r}: {problem}")


class CohortError(NamedError):
    """A problem with the cohort as a whole: its sheet, its patient ids."""

    names_patient = False
