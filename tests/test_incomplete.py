"""A test patient lacking a sequence (``incomplete``): predicted on
its own grid at its input set's operating point, the report saying which."""

import json

import numpy as np

from brainmets.incomplete import infer_incomplete_patient
from brainmets.niio import save_nifti
from brainmets.predictor import Predictor
from brainmets.sequences import SEQUENCES

from tests.model_folder import write_model_folder


class _StandIn(Predictor):
    """The model's predictor with the network replaced: records what it is
    given and writes a map of 0.5."""

    def probability(self, images, brain_mask, out_path):
        self.given = dict(images)
        save_nifti(out_path, np.full((4, 4, 4), 0.5, np.float32), np.eye(4))
        return {"seconds": 0.25, "missing": [s for s in self.card["sequences"] if s not in images], "max_probability": 0.5}


def test_the_input_sets_operating_point_and_the_patients_own_grid(tmp_path):
    thresholds = {"operating_threshold": 0.5, "input_sets": {"without BRAVO": {"left_out": ["BRAVO"], "operating_threshold": 0.3}}}
    folder = write_model_folder(tmp_path, accepted_missing=[["BRAVO"]], thresholds=thresholds, test_time_mirroring=[1, 0])
    predictor = _StandIn(folder / "model.keras", folder / "model.json", folder / "threshold.json", window_margin=16, name="model m")
    images = {seq: f"sub-x1_space-T1gd_desc-preproc_{seq}.nii.gz" for seq in SEQUENCES if seq != "BRAVO"}
    preprocessed = tmp_path / "preprocessing.json"
    preprocessed.write_text(json.dumps({"reference": "T1gd", "images": images}))
    outputs = {"probability": tmp_path / "map.nii.gz", "report": tmp_path / "report.json"}
    report = infer_incomplete_patient("x1", preprocessed, "mask.nii.gz", predictor, outputs)
    assert predictor.given == images and outputs["probability"].exists()
    assert report == json.loads(outputs["report"].read_text())
    assert (report["input_set"], report["missing_sequences"], report["reference"]) == ("without BRAVO", ["BRAVO"], "T1gd")
    assert report["threshold"] == 0.3 and report["threshold_chosen_as"] == "operating point of the input set 'without BRAVO'"
    assert report["window_margin"] == 16 and report["model_fingerprint"] == "x" and report["test_time_mirroring"] == [0, 1]
