"""brainmets-predict without a BRAVO finds a phantom patient's lesions with
a small model trained with sequence dropout (the BRAVO left out of half
the batches): the 2021 setting, end to end on one new patient.

The model is trained here, in about two minutes: four coarse (4 mm) phantom
patients with large lesions, preprocessed by the same steps predict runs,
and a narrow network. Lesions are matched to the truth in the BRAVO's
frame through the phantom's true head motion, so a map on the T1gd grid
is scored against the truth drawn on the BRAVO grid.
"""

import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import yaml
from scipy import ndimage

from brainmets.layout import PreprocessingFiles
from brainmets.network.modelfolder import read_threshold
from brainmets.network.paths import model_files
from brainmets.network.records import read_index, write_patient_records
from brainmets.network.train import train_model
from brainmets.phantom.generate import generate_patient, phantom_paths
from brainmets.preprocessing import pipeline
from brainmets.preprocessing.settings import PreprocessingSettings
from brainmets.sequences import SEQUENCES, PatientGrid

from ..conftest import REPO, SEED, tiny_config

pytestmark = pytest.mark.slow

# Large, solidly enhancing lesions: a few voxels across even on the 4 mm grids.
PHANTOM = dict(lesion_diameter_min_mm=12.0, lesion_diameter_median_mm=15.0, lesion_diameter_max_mm=20.0, max_lesions=6, ring_enhancing_min_mm=100.0)
TRAINING = dict(
    epochs=1, steps_per_epoch=500, batch_size=8, lesion_fraction=0.5, positive_weight=10.0,
    learning_rate=2e-3, beta_1=0.9, beta_2=0.999, l2=1e-5, augment=True, crop=32, precision="float32", gpus=0,
    deterministic=True, sequence_dropout=0.5, sequence_dropout_sets=[["BRAVO"]],
)
NETWORK = {"width": 0.125, "bn_momentum": 0.9}


def preprocessing_block() -> dict:
    """config.yaml's preprocessing with the test cohort's grid and registration."""
    block = yaml.safe_load((REPO / "config.yaml").read_text())["preprocessing"]
    test = yaml.safe_load((REPO / "configs" / "test.yaml").read_text())["preprocessing"]
    block["inplane_size"] = test["inplane_size"]
    block["registration"].update(test["registration"])
    return block


def patient(root: Path, index: int) -> dict:
    pid = f"{300 + index}"
    files = phantom_paths(root / "phantom" / pid, pid)
    generate_patient(tiny_config(**PHANTOM), SEED, 300 + index, pid, "4-10" if index % 2 else "1-3", files)
    return files


def training_records(root: Path, files: dict, pid: str, block: dict) -> dict:
    """One patient through predict's preprocessing steps, as slice records."""
    preprocessed = PreprocessingFiles.bids(root / "preproc", root / "qc", pid)
    settings = PreprocessingSettings.from_config(block)
    pipeline.preprocess_patient(pid, {s: files[s] for s in SEQUENCES}, preprocessed, settings, PatientGrid("BRAVO", "T1pre"))
    normalized = preprocessed.normalization
    pipeline.lesion_resampling_step(files["lesions"], normalized.brain_mask, preprocessed.lesions)
    out = {"shard": root / "records" / f"{pid}.tfrecord.gz", "index": root / "records" / f"{pid}.json"}
    write_patient_records(pid, normalized.images, normalized.brain_mask, preprocessed.lesions, out, block["normalization"])
    return read_index(out["index"])


@pytest.fixture(scope="module")
def dropout_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("dropout_model")
    block = preprocessing_block()
    patients = [patient(root, i) for i in range(4)]
    indices = [training_records(root, files, f"{300 + i}", block) for i, files in enumerate(patients)]
    folder = root / "model"
    card = train_model(indices[:3], indices[3:], model_files(folder), NETWORK, TRAINING, block, 7, context=3)
    (folder / "threshold.json").write_text(json.dumps({"operating_threshold": dev_threshold(root, folder, patients[3])}))
    return folder, card


def predict_without_bravo(files: dict, folder: Path, out: Path, pid: str) -> subprocess.CompletedProcess:
    given = [f"--{seq.lower()}={files[seq]}" for seq in SEQUENCES if seq != "BRAVO"]
    command = [sys.executable, "-m", "brainmets.predict", *given, f"--model={folder}", f"--out={out}", f"--id={pid}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def dev_threshold(root: Path, folder: Path, dev: dict) -> float:
    """The operating threshold chosen on the development patient without its
    BRAVO, as the workflow chooses one on its development patients (a
    fixed one is met on one machine and not on another, whose kernels
    train another model): the one of 0.5, 0.55, ..., 0.95 with the most
    lesions found less false-positive components, the highest of equals
    (one development patient often scores many the same: the most
    specific is taken)."""
    (folder / "threshold.json").write_text(json.dumps({"operating_threshold": 0.5}))
    result = predict_without_bravo(dev, folder, root / "dev", "dev")
    assert result.returncode == 0, result.stderr[-3000:]
    probability = nib.load(str(root / "dev" / "sub-dev_space-T1gd_desc-lesion_probseg.nii.gz"))
    values = probability.get_fdata()
    score = {}
    for threshold in np.round(np.arange(0.5, 0.96, 0.05), 2):
        _, found, false_positives = lesions_found(nib.Nifti1Image((values > threshold).astype(np.uint8), probability.affine), dev, "T1gd")
        score[float(threshold)] = found - false_positives
    return max(score, key=lambda threshold: (score[threshold], threshold))


def lesions_found(mask_img, truth: dict, seq: str) -> tuple[int, int, int]:
    """(truth lesions, those the mask touches, components of the mask that
    touch none), the mask's voxels (an image or its path) carried into the
    BRAVO's frame by the true head motion of ``seq``."""
    mask_img = nib.load(str(mask_img)) if isinstance(mask_img, (str, Path)) else mask_img
    instances_img = nib.load(str(truth["instances"]))
    instances = np.asarray(instances_img.dataobj)
    motion = np.array(json.loads(Path(truth["transforms"]).read_text())[seq]["matrix"])
    components, n = ndimage.label(np.asarray(mask_img.dataobj) > 0, np.ones((3, 3, 3)))
    found, false_positives = set(), 0
    for component in range(1, n + 1):
        ijk = np.argwhere(components == component)
        world = motion @ mask_img.affine @ np.c_[ijk, np.ones(len(ijk))].T
        voxels = np.rint((np.linalg.inv(instances_img.affine) @ world)[:3].T).astype(int)
        inside = np.all((voxels >= 0) & (voxels < instances.shape), axis=1)
        hit = set(np.unique(instances[tuple(voxels[inside].T)]).tolist()) - {0}
        found |= hit
        false_positives += not hit
    return int(instances.max()), len(found), false_positives


def test_predict_without_bravo_finds_the_lesions(dropout_model, tmp_path):
    folder, card = dropout_model
    assert card["accepted_missing"] == [["BRAVO"]]
    files = patient(tmp_path, 9)  # a patient the model never saw
    out = tmp_path / "out"
    result = predict_without_bravo(files, folder, out, "nobravo")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((out / "sub-nobravo_desc-predict.json").read_text())
    assert report["reference"] == "T1gd" and report["missing_sequences"] == ["BRAVO"]
    lesions, found, false_positives = lesions_found(out / "sub-nobravo_space-T1gd_desc-lesion_mask.nii.gz", files, "T1gd")
    threshold = read_threshold(folder)
    print(f"without BRAVO, threshold {threshold}: {found} of {lesions} lesions found, {false_positives} false-positive components")
    # Every component is over 10 mm^3 on the 4 mm grid: the 2021 paper had
    # 3.6 false positives per patient without BRAVO.
    assert found >= 0.8 * lesions and false_positives <= 3
    # The predictor's steps, as docs/predict.md shows them, on the command's
    # inputs (in canonical voxel order), give the command's map.
    from brainmets.predictor import Predictor

    predictor = Predictor.from_folder(folder, batch_size=8)  # the command's default
    canonical = {seq: str(out / "work" / "inputs" / f"sub-nobravo_{seq}.nii.gz") for seq in SEQUENCES if seq != "BRAVO"}
    chosen = predictor.input_set("nobravo", canonical)
    grid = predictor.grid("nobravo", chosen.images)
    normalized = predictor.preprocess("nobravo", chosen.images, grid, tmp_path / "py").normalization
    report = predictor.probability({s: normalized.images[s] for s in chosen.images}, normalized.brain_mask, tmp_path / "py" / "map.nii.gz")
    assert grid == ("T1gd", "T1pre") and report["missing"] == ["BRAVO"] and chosen.threshold == threshold
    command_map = nib.load(str(out / "work" / "sub-nobravo_space-network_desc-lesion_probseg.nii.gz"))
    python_map = nib.load(str(tmp_path / "py" / "map.nii.gz"))
    assert np.array_equal(np.asarray(command_map.dataobj), np.asarray(python_map.dataobj)) and np.allclose(command_map.affine, python_map.affine)
