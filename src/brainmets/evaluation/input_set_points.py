"""Each input set's operating point: the development patients predicted
with the set's sequences left out (names and thresholds: ``input_sets``)."""

from __future__ import annotations

import numpy as np

from ..network.inference import load_preprocessed, predict_volume
from ..niio import load_nifti
from ..slices import from_slices_last
from ..input_sets import accepted_input_sets, grid_of
from .metrics import EvaluationSettings
from .threshold import DevCurve, choose_operating_point


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


def dev_input_set_points(
    model, card: dict, dev_patients: dict, choice: str, froc_max_fp: float, settings: EvaluationSettings, batch_size: int = 16, margin: int | None = None,
    on_grid: dict | None = None,
) -> dict[str, dict]:
    """Every input set but the complete one that the model was trained to
    take (``accepted_input_sets``): its operating point on the
    development patients predicted with its sequences left out.
    ``dev_patients``: id -> {"images": by sequence, "brain_mask", "lesions"};
    ``on_grid``: grid -> the same, preprocessed on that reference, for the
    sets that lack the workflow's reference (``PatientGrids``)."""
    sets = {label: missing for label, missing in accepted_input_sets(card).items() if missing}
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
