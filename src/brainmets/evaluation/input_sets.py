"""Input sets: the sequences a model trained with sequence dropout is given,
and an operating point for each.

A network that learned to do without a sequence still ranks lesions without
it, but not at the same probabilities: a threshold chosen on complete inputs
can find nothing when the BRAVO is missing. So each input set gets its own
operating point, chosen on the development patients predicted with that set
(the same rule as for complete inputs: ``evaluation.operating_point``), and
kept in ``threshold.json`` under ``input_sets``. The ablation and
``brainmets-predict`` use the one that matches what was given, and name it.
"""

from __future__ import annotations

import logging

import numpy as np

from ..network.inference import load_preprocessed, predict_volume
from ..sequences import REFERENCE_PREFERENCE
from ..network.stacking import from_slices_last
from ..niio import load_nifti
from .metrics import EvaluationSettings
from .threshold import DevCurve, choose_operating_point

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
    """The reference grid a patient given the card's sequences without
    ``missing`` is preprocessed on (as ``brainmets-predict`` would): the
    first of the card's ``preprocessing.reference`` it has, or None."""
    given = [seq for seq in card["sequences"] if seq not in set(missing)]
    preference = card.get("preprocessing", {}).get("reference") or REFERENCE_PREFERENCE
    preference = [preference] if isinstance(preference, str) else preference
    return next((seq for seq in preference if seq in given), None)


class PatientGrids:
    """One patient's preprocessed network inputs, read once per grid: those
    of the workflow's reference, and, where given (``on_grid``: grid ->
    files), those of another reference for the input sets that lack the
    workflow's (a patient without BRAVO is preprocessed on the T1gd grid)."""

    def __init__(self, card: dict, files: dict, on_grid: dict | None = None):
        self.card, self.files, self.on_grid = card, files, on_grid or {}
        self._loaded = {}

    def grid_files(self, missing) -> tuple[str, dict]:
        grid = grid_of(self.card, missing)
        return (grid, self.on_grid[grid]) if grid in self.on_grid else ("", self.files)

    def inputs(self, missing):
        """(grid, volumes, mask, affine) the network gets without ``missing``;
        grid "" is the workflow's reference."""
        grid, files = self.grid_files(missing)
        if grid not in self._loaded:
            # Every sequence the grid has: the network call blanks the missing ones.
            volumes, mask, affine, _ = load_preprocessed(self.card, files["images"], files["brain_mask"])
            truth = load_nifti(files["lesions"], np.uint8)[0] > 0 if "lesions" in files else None
            self._loaded = {grid: (volumes, mask, affine, truth)}  # one grid in memory at a time
        return (grid, *self._loaded[grid])


def label_of(missing) -> str | None:
    """The input set that leaves out exactly ``missing``, or None."""
    wanted = frozenset(missing)
    return next((label for label, left_out in INPUT_SETS.items() if frozenset(left_out) == wanted), None)


def dev_input_set_points(
    model, card: dict, dev_patients: dict, choice: str, froc_max_fp: float, settings: EvaluationSettings, batch_size: int = 16, margin: int | None = None,
    on_grid: dict | None = None,
) -> dict[str, dict]:
    """Every input set but the complete one: its operating point on the
    development patients predicted with its sequences left out.
    ``dev_patients``: id -> {"images": by sequence, "brain_mask", "lesions"};
    ``on_grid``: grid -> the same, preprocessed on that reference, for the
    sets that lack the workflow's reference (``PatientGrids``)."""
    sets = {label: missing for label, missing in input_sets(card["sequences"]).items() if missing}
    curves = {label: DevCurve(settings) for label in sets}
    grids = {}
    # Each patient's images are read once per grid, for every input set; the
    # sets are taken grid by grid.
    for pid, files in sorted(dev_patients.items()):
        patient = PatientGrids(card, files, {grid: by_pid[pid] for grid, by_pid in (on_grid or {}).items() if pid in by_pid})
        for label, missing in sorted(sets.items(), key=lambda item: patient.grid_files(item[1])[0]):
            grid, vols, mask, affine, truth = patient.inputs(missing)
            grids.setdefault(label, set()).add(grid or "reference")
            prob = predict_volume(model, card, vols, mask, batch_size, list(missing), margin)
            curves[label].add(pid, from_slices_last(prob, affine), truth, from_slices_last(mask, affine) > 0, affine)
    return {
        label: {"left_out": list(missing), "grid": _grid_name(grids[label], card), **choose_operating_point(*curves[label].result(), choice, froc_max_fp, what=label)}
        for label, missing in sets.items()
    }


def _grid_name(grids: set, card: dict) -> str:
    reference = grid_of(card, ())
    return " and ".join(sorted(reference if g == "reference" else g for g in grids))


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
