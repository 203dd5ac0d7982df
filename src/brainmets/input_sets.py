"""Input sets: the sequences a model trained with sequence dropout is given,
and an operating point for each.

A network that learned to do without a sequence still ranks lesions without
it, but not at the same probabilities: a threshold chosen on complete inputs
can find nothing when the BRAVO is missing. So each input set gets its own
operating point, chosen on the development patients predicted with that set
(the same rule as for complete inputs: ``evaluation.operating_point``), and
kept in ``threshold.json`` under ``input_sets``. The ablation and
``brainmets-predict`` use the one that matches what was given, and name it.

This module names the sets, decides which one a patient's images make and
the threshold that goes with it (``choose_input_set``, for
``brainmets-predict`` and the workflow alike; no network code);
``evaluation.input_set_points`` predicts the development patients with each set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .errors import PatientError
from .sequences import patient_grid

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


def accepted_input_sets(card: dict) -> dict[str, tuple[str, ...]]:
    """The input sets of a model (``input_sets``) it was trained to take:
    complete inputs, and those whose missing sequences its sequence dropout
    left out (``accepted_missing``)."""
    return {label: missing for label, missing in input_sets(card["sequences"]).items() if missing_refusal(card, frozenset(missing)) is None}


def grid_of(card: dict, missing) -> str | None:
    """The reference grid (``patient_grid``) of a patient given the card's
    sequences without ``missing``, or None when it has none of the card's
    ``preprocessing.reference``."""
    given = [seq for seq in card["sequences"] if seq not in set(missing)]
    try:
        return patient_grid(given, card.get("preprocessing", {}).get("reference")).reference
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


def accepted_missing(card: dict) -> list[tuple[str, ...]]:
    """The subsets of the card's sequences the model may be given without."""
    if not card.get("sequence_dropout"):
        return []
    if "accepted_missing" in card:
        return [tuple(subset) for subset in card["accepted_missing"]]
    # Older cards: their dropout blanked one sequence at a time.
    return [(seq,) for seq in card["sequences"]]


def missing_refusal(card: dict, missing) -> str | None:
    """Why the model cannot run without the ``missing`` sequences (to follow
    "... missing, but the model"), or None when it can."""
    missing = frozenset(seq for seq in card["sequences"] if seq in missing)
    if not missing:
        return None
    accepted = {frozenset(subset) for subset in accepted_missing(card)}
    if missing in accepted:
        return None
    if not accepted:
        return f"was trained without sequence dropout and needs all of {', '.join(card['sequences'])}"
    if missing == frozenset(card["sequences"]):
        return "needs at least one of its sequences"
    listed = "; ".join("+".join(subset) for subset in accepted_missing(card))
    return f"was trained to do without only these sets of sequences: {listed}"


@dataclass(frozen=True)
class ChosenInputSet:
    """What a model is given for one patient and the threshold that goes with it."""

    images: dict  # the patient's images the model takes, by sequence
    unused: tuple[str, ...]  # given, but not among the model's sequences
    missing: tuple[str, ...]  # the model's sequences the patient lacks
    threshold: float
    chosen_as: str  # what the threshold is, for reports

    @property
    def name(self) -> str:
        return set_name(self.missing)


def choose_input_set(pid: str, images: dict, card: dict, thresholds: dict, override: float | None = None, model: str = "the model") -> ChosenInputSet:
    """The input set a patient's ``images`` make for the model of ``card``
    and its threshold: ``override`` (``--threshold``), else the operating
    point chosen for that set in ``thresholds`` (``threshold.json``'s
    content), else that of complete inputs. PatientError when the model
    cannot do without what is missing; ValueError when the chosen threshold
    is not a number from 0 to 1."""
    sequences = card["sequences"]
    unused = tuple(seq for seq in images if seq not in sequences)
    missing = tuple(seq for seq in sequences if seq not in images)
    refusal = missing_refusal(card, missing)
    if refusal:
        raise PatientError(pid, f"{', '.join(missing)} missing, but {model} {refusal}")
    if override is not None:
        threshold, chosen_as = override, "value given with --threshold"
    elif not missing:
        threshold, chosen_as = float(thresholds["operating_threshold"]), "operating point of complete inputs"
    else:
        threshold, chosen_as = threshold_for(thresholds, missing)
    if not 0 <= threshold <= 1:
        raise ValueError(f"the {chosen_as} is {threshold}, not a number from 0 to 1")
    taken = {seq: path for seq, path in images.items() if seq in sequences}
    return ChosenInputSet(taken, unused, missing, threshold, chosen_as)
