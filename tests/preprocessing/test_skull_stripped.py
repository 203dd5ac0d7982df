"""Inputs that are already skull-stripped: detection, mask, and the workflow step."""

import json

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from brainmets.geometry import resample_to_grid
from brainmets.layout import BrainExtractionFiles
from brainmets.niio import save_nifti
from brainmets.phantom.generate import phantom_paths
from brainmets.preprocessing import pipeline, skull_stripped
from brainmets.preprocessing.settings import BrainExtractionSettings
from brainmets.sequences import SEQUENCES

from ..conftest import require_realdata

BRATS = "brats_layout/BraTS-GLI-00001-000/BraTS-GLI-00001-000-{}.nii.gz"


def oblique_affine(spacing, degrees=20.0, origin=(-90.0, -110.0, -60.0)):
    """Anisotropic voxels on axes rotated about z and x."""
    t = np.deg2rad(degrees)
    rz = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(t / 2), -np.sin(t / 2)], [0, np.sin(t / 2), np.cos(t / 2)]])
    affine = np.eye(4)
    affine[:3, :3] = rz @ rx @ np.diag(spacing)
    affine[:3, 3] = origin
    return affine


def synthetic_stripped(seed=0):
    """A stripped 'brain' (ellipsoid: cortex over white matter, one cavity
    at exactly zero inside), zero around it, on an oblique anisotropic grid."""
    shape, spacing = (160, 190, 70), (1.2, 1.0, 2.5)
    affine = oblique_affine(spacing)
    ijk = np.indices(shape).reshape(3, -1).T
    xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
    centre = np.array([shape]) / 2 @ affine[:3, :3].T + affine[:3, 3]
    rho = np.sqrt((((xyz - centre) / [62.0, 75.0, 55.0]) ** 2).sum(axis=1)).reshape(shape)
    rng = np.random.default_rng(seed)
    data = np.where(rho < 0.93, 1.0, 0.6) * (1 + 0.05 * rng.standard_normal(shape))
    data[rho >= 1] = 0.0
    data[np.abs(rho - 0.3) < 0.05] = 0.0  # a closed shell of zeros inside the brain
    return data.astype(np.float32), affine, rho < 1


def head_only(data):
    """The image with everything outside the head set to exactly zero, as
    some scanners and anonymisers leave it: the skull is still there."""
    pieces, _ = ndimage.label(data > 0.1 * np.percentile(data, 99))
    head = pieces == np.bincount(pieces.ravel())[1:].argmax() + 1
    head = ndimage.binary_fill_holes(ndimage.binary_closing(head, iterations=2))
    return np.where(head, data, 0).astype(np.float32)


def test_synthetic_stripped_volume_is_detected_and_kept_whole():
    data, affine, brain = synthetic_stripped()
    check = skull_stripped.detect_skull_stripped(data, affine)
    assert check.stripped, check.reason
    assert check.mask[data != 0].all()  # nothing of the brain is lost
    assert check.mask[brain].all()  # the zero cavity is inside the mask
    assert not check.mask[~brain].any()


def test_stripped_volume_cut_by_the_field_of_view_is_detected():
    """A brain that runs out of the field of view at one face is still one."""
    data, affine, _ = synthetic_stripped()
    check = skull_stripped.detect_skull_stripped(data[:, :, 20:], affine)
    assert check.stripped, check.reason


def test_shell_contrast_sees_a_dark_layer_between_bright_ones():
    assert skull_stripped.shell_contrast(np.array([0.5, 0.7, 0.8, 0.8, 0.85])) == pytest.approx(1.0)
    assert skull_stripped.shell_contrast(np.array([0.4, 0.9, 0.3, 0.2, 0.6, 0.8])) == pytest.approx(4.0)


def test_phantom_heads_with_skull_are_not_detected(tiny_patients):
    meta, out = tiny_patients["001"]
    paths = phantom_paths(out, meta["patient_id"])
    for seq in SEQUENCES:
        img = nib.load(str(paths[seq]))
        data = np.asarray(img.dataobj, dtype=np.float32)
        raw = skull_stripped.detect_skull_stripped(data, img.affine)
        assert not raw.stripped and "not constant" in raw.reason, (seq, raw.reason)
        # Background zeroed: only the skull under the scalp tells it apart.
        zeroed = skull_stripped.detect_skull_stripped(head_only(data), img.affine)
        assert not zeroed.stripped, (seq, zeroed.reason)


def test_phantom_brain_alone_is_detected(tiny_patients):
    meta, out = tiny_patients["001"]
    paths = phantom_paths(out, meta["patient_id"])
    img = nib.load(str(paths["BRAVO"]))
    brain = np.asarray(nib.load(str(paths["brain_mask"])).dataobj) > 0
    stripped = np.where(brain, np.asarray(img.dataobj, dtype=np.float32), 0)
    check = skull_stripped.detect_skull_stripped(stripped, img.affine)
    assert check.stripped, check.reason
    assert check.mask[stripped != 0].all()


def test_mni152_head_is_not_detected_but_its_brain_is():
    head, mask = require_realdata("mni152/MNI152_T1_2mm.nii.gz", "mni152/MNI152_T1_2mm_brain_mask.nii.gz")
    img = nib.load(str(head))
    data = img.get_fdata(dtype=np.float32)
    assert not skull_stripped.detect_skull_stripped(data, img.affine).stripped
    zeroed = skull_stripped.detect_skull_stripped(head_only(data), img.affine)
    assert not zeroed.stripped and "shell" in zeroed.reason, zeroed.reason
    reference = nib.load(str(mask)).get_fdata() > 0
    check = skull_stripped.detect_skull_stripped(data * reference, img.affine)
    assert check.stripped, check.reason
    assert check.mask[reference & (data > 0)].all()
    # The same at 5 mm thick slices.
    thick_affine = img.affine @ np.diag([1.0, 1.0, 2.5, 1.0])
    thick_shape = (img.shape[0], img.shape[1], 36)
    thick = resample_to_grid(data * reference, img.affine, thick_shape, thick_affine, order=1)
    assert skull_stripped.detect_skull_stripped(thick, thick_affine).stripped


@pytest.mark.parametrize("sequence", ["t1c", "t1n", "t2f", "t2w"])
def test_brats_images_are_detected_and_kept_whole(sequence):
    (path,) = require_realdata(BRATS.format(sequence))
    img = nib.load(str(path))
    data = np.asarray(img.dataobj, dtype=np.float32)
    check = skull_stripped.detect_skull_stripped(data, img.affine)
    assert check.stripped, check.reason
    nonzero = data != 0
    assert (check.mask & nonzero).sum() / nonzero.sum() >= 0.99


# The workflow step.

SETTINGS = {
    "engine": "python",
    "fractional_threshold": {"fsl": 0.5, "python": 0.7},
    "isotropic_mm": 1.5,
    "iterations": 50,
    "volume_limits_ml": [100, 5000],
}


@pytest.fixture()
def step(tmp_path, monkeypatch):
    """Runs brain_extraction_step on an image; BET replaced by a recorder."""
    calls = []

    def fake_bet(path, engine, *args):
        img = nib.load(str(path))
        calls.append(engine)
        return np.asarray(img.dataobj) > np.percentile(np.asarray(img.dataobj), 60), img.affine, engine

    monkeypatch.setattr(pipeline.brain_extraction, "extract_brain", fake_bet)

    def run(data, affine, skull_stripped=None, preprocessed=False):
        save_nifti(tmp_path / "t1.nii.gz", data, affine)
        files = BrainExtractionFiles(mask=tmp_path / "mask.nii.gz", report=tmp_path / "report.json", qc=tmp_path / "qc.png")
        settings = dict(SETTINGS) if skull_stripped is None else {**SETTINGS, "skull_stripped": skull_stripped}
        settings = BrainExtractionSettings.from_config(settings)
        report = pipeline.brain_extraction_step("p1", tmp_path / "t1.nii.gz", files, settings, preprocessed)
        assert json.loads(files.report.read_text()) == report
        return report, np.asarray(nib.load(str(files.mask)).dataobj) > 0

    run.calls = calls
    return run


def test_step_detects_stripped_input(step, caplog):
    data, affine, brain = synthetic_stripped()
    with caplog.at_level("INFO"):
        report, mask = step(data, affine, "auto")
    assert report["engine"] == "given (skull-stripped input, detected)"
    assert report["skull_stripped_check"]["detected"] is True
    assert step.calls == []
    assert mask[brain].all() and not mask[~brain].any()
    assert "skull-stripped input detected" in caplog.text
    # Older settings without the key behave as auto.
    assert step(data, affine)[0]["engine"] == "given (skull-stripped input, detected)"


def test_step_forced_false_runs_bet(step):
    data, affine, _ = synthetic_stripped()
    report, _ = step(data, affine, False)
    assert step.calls == ["python"]
    assert report["engine"] == "python" and "skull_stripped_check" not in report


def test_step_runs_bet_on_a_head(step, tiny_patients):
    meta, out = tiny_patients["001"]
    img = nib.load(str(phantom_paths(out, meta["patient_id"])["T1pre"]))
    report, _ = step(np.asarray(img.dataobj, dtype=np.float32), img.affine, "auto")
    assert step.calls == ["python"]
    assert report["skull_stripped_check"]["detected"] is False


def test_step_forced_true_and_cohort_metadata_skip_bet(step):
    data, affine, brain = synthetic_stripped()
    report, mask = step(data, affine, True)
    assert report["engine"] == "given (skull-stripped input, set in config)"
    assert "skull_stripped_check" not in report  # not looked at: forced
    assert mask[brain].all() and not mask[~brain].any()
    report, _ = step(data, affine, "auto", preprocessed=True)
    assert report["engine"] == "given (skull-stripped input, cohort metadata)"
    assert step.calls == []
