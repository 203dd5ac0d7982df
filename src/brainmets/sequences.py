"""The four MR sequences of the paper and how files are named after them."""

from typing import NamedTuple

# Keys are BIDS-label safe (alphanumeric) so they can appear in entity values
# such as ``from-FLAIR_to-BRAVO``.
SEQUENCES = ("T1pre", "T1gd", "BRAVO", "FLAIR")

# The reference: the grid every sequence is brought onto and the lesion mask
# lies on. A patient's is the first of these it has (preprocessing.reference;
# ``choose_reference``), the first where none is named: the paper's ground
# truth is drawn on the post-contrast BRAVO; many protocols have no BRAVO,
# and the authors' 2021 follow-up was tested without it; the post-contrast
# T1 then shows the lesions.
REFERENCE_PREFERENCE = ("BRAVO", "T1gd")


def reference_order(preference=None) -> tuple[str, ...]:
    """``preprocessing.reference`` as a tuple: one sequence or several, in
    order; none given (older model cards): ``REFERENCE_PREFERENCE``."""
    preference = preference or REFERENCE_PREFERENCE
    return (preference,) if isinstance(preference, str) else tuple(preference)


def choose_reference(present, preference=None) -> str:
    """The first sequence of ``preference`` (default ``REFERENCE_PREFERENCE``)
    among the ``present`` ones: the grid every other sequence is brought onto.
    ``preference``: one sequence or several (``reference_order``)."""
    preference = reference_order(preference)
    unknown = [seq for seq in preference if seq not in SEQUENCES]
    if unknown:
        raise ValueError(f"preprocessing.reference: unknown sequence(s) {', '.join(unknown)}; choose among {', '.join(SEQUENCES)}")
    for seq in preference:
        if seq in present:
            return seq
    raise ValueError(f"none of the reference sequences ({', '.join(preference)}, preprocessing.reference) is given")


def brain_extraction_source(present, reference: str) -> str:
    """The sequence brain extraction runs on: the pre-contrast T1 (paper),
    else the reference image."""
    return "T1pre" if "T1pre" in present else reference

class PatientGrid(NamedTuple):
    """Where a patient is preprocessed: the reference every other sequence
    is brought onto, and the sequence brain extraction runs on."""

    reference: str
    brain_extraction_on: str


def patient_grid(present, preference=None) -> PatientGrid:
    """The grid of a patient given the ``present`` sequences: the first of
    ``preference`` (``preprocessing.reference``) it has, and its T1pre, else
    that reference, for brain extraction. The one place this is decided, for
    ``brainmets-predict`` and every rule alike; ValueError when none of the
    preference is present."""
    reference = choose_reference(present, preference)
    return PatientGrid(reference, brain_extraction_source(present, reference))


def alternative_reference(present, preference=None) -> str | None:
    """The reference of a patient given the ``present`` sequences but the
    reference (the T1gd for a cohort with BRAVO): None when there is no
    other, or when brain extraction runs on the reference itself (no brain
    mask without it)."""
    reference = choose_reference(present, preference)
    rest = [seq for seq in present if seq != reference]
    if brain_extraction_source(present, reference) == reference:
        return None
    return next((seq for seq in reference_order(preference) if seq in rest), None)


DESCRIPTIONS = {
    "T1pre": "pre-Gd T1-weighted 3D fast spin echo (CUBE), sagittal",
    "T1gd": "post-Gd T1-weighted 3D fast spin echo (CUBE), sagittal",
    "BRAVO": "post-Gd T1-weighted 3D IR-prepped FSPGR (BRAVO), axial",
    "FLAIR": "3D CUBE FLAIR, sagittal",
}

# Lesion-count subgroups of the paper: G1 1-3, G2 4-10, G3 >10.
SUBGROUPS = ("1-3", "4-10", ">10")


def subgroup_of(n_lesions: int) -> str:
    """Return the paper's lesion-count subgroup label for a patient."""
    if n_lesions < 1:
        return "0"
    if n_lesions <= 3:
        return "1-3"
    if n_lesions <= 10:
        return "4-10"
    return ">10"
