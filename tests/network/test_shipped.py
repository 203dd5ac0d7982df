"""The shipped model: brainmets-predict's default, a checked model folder
whose card says it never saw a real scan."""

import itertools
import json

import numpy as np
import pytest

from brainmets import predict
from brainmets.input_sets import missing_refusal
from brainmets.network import shipped
from brainmets.network.modelfolder import check_model_folder, read_threshold
from brainmets.niio import save_nifti


def test_without_model_predict_names_a_missing_shipped_model(tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(shipped, "SHIPPED_MODEL", tmp_path / "nowhere")
    image = tmp_path / "t1gd.nii.gz"
    save_nifti(image, np.ones((8, 8, 8), np.int16), np.diag([1.5, 1.5, 2.0, 1.0]))
    assert predict.main(["--t1gd", str(image), "--out", str(tmp_path / "out")]) == 1
    console = capfd.readouterr().err
    assert "the shipped model is missing" in console and "nowhere" in console


@pytest.mark.skipif(not (shipped.SHIPPED_MODEL / "model.keras").is_file(), reason="no shipped model in this copy")
def test_shipped_model_is_a_checked_folder_that_says_what_it_saw():
    folder = shipped.shipped_model_folder()
    card = check_model_folder(folder)
    assert 0 < read_threshold(folder) < 1
    cohort = card["training_cohort"]
    assert cohort["source"] == "phantom" and cohort["anatomy"] == "mni152"
    assert "never seen a real scan" in cohort["warning"]
    # Public collections have no BRAVO: the T1gd with the T1pre, the FLAIR or
    # both suffices, a BRAVO or not; its training never left out the T1pre
    # and the FLAIR together, so the T1gd alone (or with the BRAVO only) is
    # refused, as is anything without the T1gd.
    assert card["preprocessing"]["reference"] == ["T1gd"]
    others = [seq for seq in card["sequences"] if seq != "T1gd"]
    for size in range(len(others) + 1):
        for missing in itertools.combinations(others, size):
            refused = {"T1pre", "FLAIR"} <= set(missing)
            assert (missing_refusal(card, missing) is not None) == refused, missing
    assert missing_refusal(card, ["T1gd"]) is not None
    assert (folder / "MODEL_CARD.md").is_file()
    # Real scans: a lesion counts only where the model is sure of it somewhere.
    assert 0 < json.loads((folder / "threshold.json").read_text())["lesion_min_peak_probability"] < 1
