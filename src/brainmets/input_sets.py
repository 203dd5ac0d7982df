"""Input sets: the sequences a model trained with sequence dropout is given,
and an operating point for each.

A network that learned to do without a sequence still ranks lesions without
it, but not at the same probabilities: a threshold chosen on complete inputs
can find nothing when the BRAVO is missing. So each input set gets its own
operating point, chosen on the development patients predicted with that set
(the same rule as for complete inputs: ``evaluation.operating_point``), and
kept in ``threshold.json`` under ``input_sets``. The ablation and
``brainmets-predict`` use the one that matches what was given, and name it.

This module names the sets and reads their thresholds (no network code);
``input_set_points`` predicts the development patients with each set.
"""

from __future__ import annotations

import logging

from .sequences import patient_grid, reference_order

log = logging.getLogger(__name__)

COMPLETE = "all given"
INPUT_SETS: dict[str, tuple[str, ...]] = {
    COMPLETE: (),
    "without T1pre": ("T1pre",),
    "without T1gd": ("T1gd",),
    "without BRAVO": ("BRAVO",),
    "without FLAIR": ("FLAIR",),
    "without BRAVO and T1gd": ("BRAVO", "T1gd"),
}


def input_sets(sequences) -> dict[str, tuple[str, ...]]:
    """The input sets of a model with these ``sequences``: those that leave
    out only its sequences, and not all of them."""
    return {
        label: missing
        for label, missing in INPUT_SETS.items()
        if set(missing) <= set(sequences) and len(missing) < len(sequences)
    }


def grid_of(card: dict, missing) -> str | None:
    """The reference grid (``patient_grid``) of a patient given the card's
    sequences without ``missing``, or None when it has none of the card's
    ``preprocessing.reference``."""
    given = [seq for seq in card["sequences"] if seq not in set(missing)]
    try:
        return patient_grid(given, reference_order(card.get("preprocessing", {}).get("reference"))).reference
    except ValueError:
        return None


def label_of(missing) -> str | None:
    """The input set that leaves out exactly ``missing``, or None."""
    wanted = frozenset(missing)
    return next((label for label, left_out in INPUT_SETS.items() if frozenset(left_out) == wanted), None)


def set_name(missing) -> str:
    """How reports name the inputs lacking ``missing``: its input set's
    label, else "without A and B"."""
    if not missing:
        return COMPLETE
    return label_of(missing) or "without " + " and ".join(missing)


def thresholds_by_input_set(thresholds: dict) -> dict[str, float]:
    """Input set -> operating threshold, from ``threshold.json``'s content
    (only the complete set for a model without sequence dropout)."""
    by_set = {COMPLETE: float(thresholds["operating_threshold"])}
    by_set.update({label: float(point["operating_threshold"]) for label, point in thresholds.get("input_sets", {}).items()})
    return by_set


def threshold_for(thresholds: dict, missing) -> tuple[float, str]:
    """The threshold for inputs lacking ``missing``, and what it is (the
    input set it was chosen for, or why the complete set's is used)."""
    by_set = thresholds_by_input_set(thresholds)
    label = label_of(missing)
    if label in by_set:
        return by_set[label], f"operating point of the input set '{label}'"
    log.warning(
        "no operating point was chosen for inputs without %s: the threshold of complete inputs is used, and may find too little",
        ", ".join(missing),
    )
    return by_set[COMPLETE], f"operating point of complete inputs (none was chosen without {', '.join(missing)})"
