"""benchmarks/finetune_gain.py: a fine-tuned run beside its starting model
and a training from scratch, on the patients all of them were scored on."""

import json
import sys

import pandas as pd
import pytest

from .conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import finetune_gain  # noqa: E402


def scored(dice, fp=(0, 0, 0), pids=("a", "b", "c")):
    return pd.DataFrame({"patient_id": list(pids), "dice": dice, "lesion_sensitivity": [1.0] * len(pids), "fp_components": list(fp)})


def test_summary_compares_the_models_on_the_patients_all_were_scored_on():
    table, dice = finetune_gain.summary({"fine-tuned": scored([0.2, 0.4, 0.9], fp=(1, 0, 0)), "unchanged": scored([0.5, 0.6], fp=(0, 0), pids=("a", "b"))})
    assert list(dice.index) == ["a", "b"]
    assert table.loc["fine-tuned", "patients"] == 2
    assert table.loc["fine-tuned", "dice_mean"] == pytest.approx(0.3)
    assert table.loc["unchanged", "dice_mean"] == pytest.approx(0.55)
    assert table.loc["fine-tuned", "fp_per_patient"] == pytest.approx(0.5)
    assert (table.loc["fine-tuned", "dice_min"], table.loc["fine-tuned", "dice_max"]) == (0.2, 0.4)


def test_the_starting_model_is_read_from_every_folds_card(tmp_path):
    for fold, folder in (("fold1", "src/brainmets/models/pretrained"), ("fold2", "src/brainmets/models/pretrained")):
        (tmp_path / "models" / fold).mkdir(parents=True)
        (tmp_path / "models" / fold / "model.json").write_text(json.dumps({"started_from": {"model_folder": folder}}))
    assert finetune_gain.starting_model(tmp_path) == REPO / "src/brainmets/models/pretrained"
    (tmp_path / "models" / "fold3").mkdir()
    (tmp_path / "models" / "fold3" / "model.json").write_text(json.dumps({}))
    with pytest.raises(SystemExit, match="do not all start from one model"):
        finetune_gain.starting_model(tmp_path)


def test_a_patients_files_are_those_of_its_reference_grid(tmp_path):
    anat = tmp_path / "preproc" / "sub-p1" / "anat"
    anat.mkdir(parents=True)
    for name in ("space-T1gd_desc-preproc_T1gd", "space-T1gd_desc-preproc_FLAIR", "space-T1gd_desc-brain_mask", "space-T1pre_desc-brain_mask", "space-T1gd_desc-lesions_mask"):
        (anat / f"sub-p1_{name}.nii.gz").touch()
    images, brain, lesions = finetune_gain.preprocessed(tmp_path, "p1", ["BRAVO", "T1gd"])
    assert sorted(images) == ["FLAIR", "T1gd"]
    assert brain.name == "sub-p1_space-T1gd_desc-brain_mask.nii.gz" and brain.exists()
    assert lesions.name == "sub-p1_space-T1gd_desc-lesions_mask.nii.gz"
