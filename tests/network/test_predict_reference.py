"""``brainmets-predict`` on a patient without BRAVO: a model trained with
sequence dropout, the T1gd as reference grid; and the card that says which
sequences may be missing."""

import json
import shutil
import subprocess
import sys

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from brainmets.network.paths import model_files
from brainmets.network.train import train_model
from brainmets.predict import predict_patient_files
from brainmets.sequences import SEQUENCES

from ..conftest import require_realdata
from ..preprocessing import synthetic_head as head

# Each test trains a network (half a minute or more): the full tier only.
pytestmark = pytest.mark.slow

SETTINGS = dict(
    epochs=1, steps_per_epoch=2, batch_size=4, lesion_fraction=0.5, positive_weight=10.0, learning_rate=1e-3,
    beta_1=0.9, beta_2=0.999, l2=1e-5, augment=True, sequence_dropout=0.5, crop=None, precision="float32", gpus=0, deterministic=True,
    run_eagerly=True,  # a few steps: tracing a graph would take longer than training
)
NETWORK = {"width": 0.0625, "bn_momentum": 0.9}
# As in a card written before preprocessing.reference existed.
OLD_PREPROCESSING = {k: v for k, v in head.PREPROCESSING.items() if k != "reference"}
THRESHOLD = 0.5


def _copy_model(source, target, **card_changes):
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("checkpoints", "tensorboard"))
    card = json.loads((target / "model.json").read_text())
    (target / "model.json").write_text(json.dumps({**card, **card_changes}))
    return target


@pytest.fixture(scope="module")
def models(records, tmp_path_factory):
    """A tiny model on the 32x32 records trained with sequence dropout, and
    its copy whose card says it was trained without (one training is slow
    enough; test_train checks the card of a real one)."""
    root = tmp_path_factory.mktemp("models")
    indices = [r[1] for r in records]
    card = train_model(indices[:2], indices[2:], model_files(root / "dropout"), NETWORK, SETTINGS, OLD_PREPROCESSING, 7, context=3)
    (root / "dropout" / "threshold.json").write_text(json.dumps({"operating_threshold": THRESHOLD}))
    _copy_model(root / "dropout", root / "plain", sequence_dropout=0.0, accepted_missing=[])
    return root, card


@pytest.fixture(scope="module")
def patient(tmp_path_factory):
    return head.write_patient(tmp_path_factory.mktemp("patient"))


def test_card_says_which_sequences_may_be_missing(models):
    root, trained = models
    card = json.loads((root / "dropout" / "model.json").read_text())
    assert card == trained and card["sequences"] == list(SEQUENCES)
    missing = [tuple(s) for s in card["accepted_missing"]]
    assert len(missing) == len(set(missing)) == 14 and all(0 < len(s) < 4 for s in missing)
    assert ("BRAVO",) in missing and ("T1pre", "BRAVO", "FLAIR") in missing
    assert all(list(s) == [seq for seq in SEQUENCES if seq in s] for s in missing)  # in the card's sequence order
    assert "sequence dropout" in card["training_inputs"]


def _assert_on_grid(out, pid, reference, grid_image):
    grid = nib.load(str(grid_image))
    prob = nib.load(str(out / f"sub-{pid}_space-{reference}_desc-lesion_probseg.nii.gz"))
    mask = nib.load(str(out / f"sub-{pid}_space-{reference}_desc-lesion_mask.nii.gz"))
    assert prob.shape == mask.shape == grid.shape
    np.testing.assert_allclose(prob.affine, grid.affine, atol=1e-5)
    np.testing.assert_allclose(mask.affine, grid.affine, atol=1e-5)
    p = np.asarray(prob.dataobj)
    assert p.min() >= 0 and p.max() <= 1
    np.testing.assert_array_equal(np.asarray(mask.dataobj) > 0, p >= THRESHOLD)
    other = {"BRAVO": "T1gd", "T1gd": "BRAVO"}[reference]
    assert not list(out.glob(f"sub-{pid}_space-{other}_*"))
    report = json.loads((out / f"sub-{pid}_desc-predict.json").read_text())
    table = pd.read_csv(out / f"sub-{pid}_desc-lesions.tsv", sep="\t")
    assert len(table) == report["lesions"]
    return report


def test_predict_command_without_bravo(models, patient, tmp_path):
    root, _ = models
    args = [f"--t1pre={patient['T1pre']}", f"--t1gd={patient['T1gd']}", f"--flair={patient['FLAIR']}"]
    command = [sys.executable, "-m", "brainmets.predict", *args, f"--model={root / 'dropout'}", f"--out={tmp_path}", "--id=nb1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = _assert_on_grid(tmp_path, "nb1", "T1gd", patient["T1gd"])
    # The card has no preprocessing.reference: [BRAVO, T1gd] is assumed.
    assert report["reference"] == "T1gd" and report["reference_preference"] == ["BRAVO", "T1gd"]
    assert report["missing_sequences"] == ["BRAVO"] and report["brain_extraction_on"] == "T1pre"
    assert "reference grid T1gd" in result.stderr
    xfm = tmp_path / "work" / "preproc" / "sub-nb1" / "xfm"
    assert sorted(p.name for p in xfm.glob("*.mat")) == ["sub-nb1_from-FLAIR_to-T1gd_mode-image_xfm.mat", "sub-nb1_from-T1pre_to-T1gd_mode-image_xfm.mat"]


def test_predict_with_bravo_keeps_the_bravo_grid(models, patient, tmp_path):
    root, _ = models
    report = predict_patient_files("wb1", dict(patient), root / "dropout", tmp_path, batch_size=4)
    assert report["reference"] == "BRAVO" and report["missing_sequences"] == []
    _assert_on_grid(tmp_path, "wb1", "BRAVO", patient["BRAVO"])


def test_the_card_orders_the_reference(models, patient, tmp_path):
    root, _ = models
    model = _copy_model(root / "dropout", tmp_path / "model", preprocessing={**OLD_PREPROCESSING, "reference": ["T1gd", "BRAVO"]})
    images = {seq: patient[seq] for seq in ("T1gd", "BRAVO")}
    report = predict_patient_files("tg1", images, model, tmp_path / "out", batch_size=4)
    assert report["reference"] == "T1gd" and report["brain_extraction_on"] == "T1gd"
    assert report["missing_sequences"] == ["T1pre", "FLAIR"]
    _assert_on_grid(tmp_path / "out", "tg1", "T1gd", patient["T1gd"])


def test_model_without_dropout_refuses_a_missing_sequence(models, patient, tmp_path):
    root, _ = models
    images = {seq: patient[seq] for seq in ("T1pre", "T1gd", "FLAIR")}
    with pytest.raises(ValueError, match=r"patient 'nd1': BRAVO missing, but model .* was trained without sequence dropout and needs all of T1pre, T1gd, BRAVO, FLAIR"):
        predict_patient_files("nd1", images, root / "plain", tmp_path)
    assert not list(tmp_path.glob("sub-nd1_space-*"))


def test_a_reference_sequence_is_needed(models, patient, tmp_path):
    root, _ = models
    images = {seq: patient[seq] for seq in ("T1pre", "FLAIR")}
    with pytest.raises(ValueError, match=r"patient 'nr1': none of the reference sequences \(BRAVO, T1gd"):
        predict_patient_files("nr1", images, root / "dropout", tmp_path)


def test_predict_on_a_brats_case_without_bravo(models, tmp_path):
    """A real skull-stripped case (BraTS: T1n, T1c, T2-FLAIR, no BRAVO)."""
    t1n, t1c, flair = require_realdata(*(f"brats_layout/BraTS-GLI-00001-000/BraTS-GLI-00001-000-{s}.nii.gz" for s in ("t1n", "t1c", "t2f")))
    root, _ = models
    bet = {**OLD_PREPROCESSING["brain_extraction"], "skull_stripped": "auto", "volume_limits_ml": [800, 2200]}
    model = _copy_model(root / "dropout", tmp_path / "model", preprocessing={**OLD_PREPROCESSING, "brain_extraction": bet})
    report = predict_patient_files("b1", {"T1pre": t1n, "T1gd": t1c, "FLAIR": flair}, model, tmp_path / "out", batch_size=8)
    assert report["reference"] == "T1gd" and report["missing_sequences"] == ["BRAVO"]
    _assert_on_grid(tmp_path / "out", "b1", "T1gd", t1c)
    bet = json.loads((tmp_path / "out" / "work" / "preproc" / "sub-b1" / "anat" / "sub-b1_desc-brainextraction.json").read_text())
    assert "skull-stripped input, detected" in bet["engine"]


def test_the_mask_keeps_only_lesions_that_reach_the_models_least_peak(models, patient, tmp_path):
    """threshold.json's lesion_min_peak_probability reaches the mask and
    the report: set just under the highest peak of the pieces the plain
    mask holds, only the pieces that reach it stay (the others stay in the
    map)."""
    from scipy import ndimage

    from brainmets.lesions import connected_components

    root, _ = models
    plain = predict_patient_files("pk0", dict(patient), root / "dropout", tmp_path / "plain", batch_size=4)
    assert plain["lesion_min_peak_probability"] == 0.0
    p = np.asarray(nib.load(str(tmp_path / "plain" / "sub-pk0_space-BRAVO_desc-lesion_probseg.nii.gz")).dataobj)
    labels, n = connected_components(p >= THRESHOLD)
    peaks = ndimage.maximum(p, labels, np.arange(1, n + 1))
    # Just under the highest peak: the map on disk is float32, the mask was drawn before rounding.
    top = float(max(peaks)) - 1e-4
    assert n >= 2 and min(peaks) < top, f"this tiny network's map has {n} pieces at {THRESHOLD}, peaks {sorted(peaks)}"
    model = _copy_model(root / "dropout", tmp_path / "model")
    (model / "threshold.json").write_text(json.dumps({"operating_threshold": THRESHOLD, "lesion_min_peak_probability": top}))
    report = predict_patient_files("pk1", dict(patient), model, tmp_path / "out", batch_size=4)
    assert report["lesion_min_peak_probability"] == top and report["lesions"] < plain["lesions"]
    mask = np.asarray(nib.load(str(tmp_path / "out" / "sub-pk1_space-BRAVO_desc-lesion_mask.nii.gz")).dataobj) > 0
    kept = [k + 1 for k, peak in enumerate(peaks) if peak >= top]
    np.testing.assert_array_equal(mask, np.isin(labels, kept))
