"""A trained model ready for patients, in the manner of nnU-Net's predictor:
one object owns the path from a patient's images to its probability map,
each decision made once, here: the patient's grid (``patient_grid`` with the
model's reference order), its preprocessing with the settings the model
was trained with, the input set its images make and that set's operating
threshold (``choose_input_set``), and inference.

``brainmets-predict`` is a command line over it (inputs, staging, the maps
on the patient's own grid, DICOM), and the workflow's test patients
lacking a sequence are predicted by it (``incomplete``). The
network loads on first use: a caller checks its inputs first, before
Keras and TensorFlow are imported (about 1 GB).
"""

from __future__ import annotations

import logging
from pathlib import Path

from .errors import PatientError
from .input_sets import ChosenInputSet, choose_input_set
from .layout import PreprocessingFiles
from .network.modelfolder import ModelFolderError, check_model_folder, read_json, read_threshold
from .network.paths import model_files
from .sequences import PatientGrid, patient_grid, reference_order

log = logging.getLogger(__name__)


class Predictor:
    """A model (its network file, card and operating thresholds) and the
    inference settings it runs with. ``threshold``: one threshold for every
    input set, instead of the model's (the operating thresholds file is then
    not read)."""

    def __init__(
        self, network_file, card_file, thresholds_file, threshold: float | None = None, batch_size: int = 16,
        window_margin: int | None = 32, name: str = "the model", card: dict | None = None,
    ):
        self.network_file, self.card_file, self.thresholds_file = Path(network_file), Path(card_file), Path(thresholds_file)
        # A workflow's model folder holds all three (``network.paths.model_files``).
        self.folder = self.network_file.parent
        # ``card``: the card file's content, where the caller has read it already.
        self.card = read_json(card_file) if card is None else card
        self.threshold, self.batch_size, self.window_margin, self.name = threshold, batch_size, window_margin, name
        self._network = None

    @classmethod
    def from_folder(cls, model_dir, threshold: float | None = None, batch_size: int = 16, window_margin: int | None = 32) -> Predictor:
        """A model folder of the workflow (``results/<run>/models/<name>``),
        checked before anything is loaded: a broken file is named before
        minutes of preprocessing."""
        card = check_model_folder(model_dir)
        if threshold is None:
            read_threshold(model_dir)
        files = model_files(model_dir)
        return cls(files["model"], files["card"], files["threshold"], threshold, batch_size, window_margin, f"model {model_dir}", card)

    @property
    def reference_preference(self) -> tuple[str, ...]:
        """The card's reference order; older cards lack it and used the
        BRAVO, which stays first."""
        return reference_order(self.card["preprocessing"].get("reference"))

    @property
    def test_time_mirroring(self) -> list[int]:
        """The in-plane axes each slice is mirrored along at inference (the
        card's ``test_time_mirroring``; none on older cards)."""
        return sorted(set(self.card.get("test_time_mirroring", [])))

    @property
    def inputs_preprocessed(self) -> bool:
        """Whether the model was trained on skull-stripped, co-registered
        images (BrainMetShare, BraTS): its patients skip those steps, as its
        training did."""
        return bool(self.card.get("training_cohort", {}).get("inputs_preprocessed", False))

    @property
    def min_peak_probability(self) -> float:
        """The least peak probability of a predicted lesion (its operating
        points' ``lesion_min_peak_probability``, ``lesions.confident_components``;
        0, every component, for models chosen without one)."""
        if not self.thresholds_file.exists():
            return 0.0
        value = read_json(self.thresholds_file).get("lesion_min_peak_probability", 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ModelFolderError(self.thresholds_file, f"'lesion_min_peak_probability' must be a number from 0 to 1, not {value!r}")
        return float(value)

    def grid(self, pid: str, images: dict) -> PatientGrid:
        """The patient's grid, or why it has none."""
        try:
            return patient_grid(images, self.reference_preference)
        except ValueError as exc:
            raise PatientError(pid, f"{exc}; it is the grid every other sequence is brought onto") from None

    def input_set(self, pid: str, images: dict) -> ChosenInputSet:
        """The images the model takes, what it lacks and the threshold for
        that; refused when the model cannot run without them."""
        thresholds = read_json(self.thresholds_file) if self.threshold is None else {}
        try:
            chosen = choose_input_set(pid, images, self.card, thresholds, self.threshold, self.name)
        except PatientError:
            raise
        except ValueError as exc:
            raise ModelFolderError(self.thresholds_file, str(exc)) from None
        if chosen.unused:
            # A model trained without some sequence (e.g. on BraTS, no BRAVO) never looks at it.
            log.warning("patient %s: %s takes %s; %s left out", pid, self.name, ", ".join(self.card["sequences"]), ", ".join(chosen.unused))
        return chosen

    def preprocess(self, pid: str, images: dict, grid: PatientGrid, work) -> PreprocessingFiles:
        """The workflow's preprocessing chain for one patient on its
        ``grid``, with the model's settings; every file under ``work``."""
        from .preprocessing.pipeline import preprocess_into
        from .preprocessing.settings import PreprocessingSettings

        return preprocess_into(work, pid, images, PreprocessingSettings.from_card(self.card), grid, self.inputs_preprocessed)

    def load(self) -> None:
        """Load the network now (Keras and TensorFlow with it), once; any
        failure of Keras named with its file."""
        if self._network is not None:
            return
        from .network.train import load_trained

        try:
            self._network, self.card = load_trained(self.network_file, self.card_file)
        except Exception as exc:  # Keras raises many kinds for a damaged file
            raise ModelFolderError(self.network_file, f"the network cannot be loaded ({type(exc).__name__}: {exc})") from exc

    @property
    def network(self):
        """The network, loaded on first use."""
        self.load()
        return self._network

    def probability(self, images: dict, brain_mask, out_path) -> dict:
        """The probability map of one preprocessed patient (``images`` by
        sequence, those the model takes; the others are blanked as in
        training), written as NIfTI on the network's grid."""
        from .network.inference import predict_patient

        return predict_patient(self.network, self.card, images, brain_mask, out_path, self.batch_size, self.window_margin)
