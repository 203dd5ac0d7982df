"""The four MR sequences of the paper and how files are named after them."""

# Keys are BIDS-label safe (alphanumeric) so they can appear in entity values
# such as ``from-FLAIR_to-BRAVO``.
SEQUENCES = ("T1pre", "T1gd", "BRAVO", "FLAIR")

# Ground truth is drawn on the post-contrast BRAVO; every sequence is brought
# onto its grid.
REFERENCE = "BRAVO"

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
