"""The reference grid: the BRAVO when present, else the T1gd (in the order
of ``preprocessing.reference``); brain extraction on the T1pre, else on the
reference; every other present sequence registered onto the reference."""

import nibabel as nib
import numpy as np
import pytest

from brainmets.layout import MOVING, PreprocessingFiles
from brainmets.preprocessing import normalize, pipeline, registration
from brainmets.preprocessing.settings import PreprocessingSettings
from brainmets.sequences import REFERENCE_PREFERENCE, SEQUENCES, PatientGrid, choose_reference, patient_grid

from . import synthetic_head as head


def test_choose_reference():
    assert REFERENCE_PREFERENCE == ("BRAVO", "T1gd")
    assert choose_reference(SEQUENCES) == "BRAVO"
    assert choose_reference(("T1pre", "T1gd", "FLAIR")) == "T1gd"
    assert choose_reference({"T1gd": 1, "FLAIR": 2}) == "T1gd"
    assert choose_reference(SEQUENCES, ["T1gd", "BRAVO"]) == "T1gd"
    assert choose_reference(("T1pre", "BRAVO"), ["T1gd", "BRAVO"]) == "BRAVO"
    with pytest.raises(ValueError, match=r"none of the reference sequences \(BRAVO, T1gd"):
        choose_reference(("T1pre", "FLAIR"))
    with pytest.raises(ValueError, match="unknown sequence"):
        choose_reference(SEQUENCES, ["CT"])


@pytest.mark.parametrize(
    "present, preference, reference, bet_on",
    [
        (SEQUENCES, ["BRAVO", "T1gd"], "BRAVO", "T1pre"),
        (("T1pre", "T1gd", "FLAIR"), ["BRAVO", "T1gd"], "T1gd", "T1pre"),
        (("T1gd", "FLAIR"), ["BRAVO", "T1gd"], "T1gd", "T1gd"),
        (SEQUENCES, ["T1gd", "BRAVO"], "T1gd", "T1pre"),
        (("T1pre", "T1gd", "FLAIR"), None, "T1gd", "T1pre"),  # an older card without the key
    ],
)
def test_each_step_runs_on_the_chosen_reference(monkeypatch, present, preference, reference, bet_on):
    calls = {}
    monkeypatch.setattr(pipeline, "brain_extraction_step", lambda pid, path, *a: calls.setdefault("bet", path))
    monkeypatch.setattr(
        pipeline, "coregistration_step", lambda pid, seq, ref, moving, files, settings, reference, **kw: calls.setdefault("coreg", []).append((seq, ref, reference))
    )
    monkeypatch.setattr(
        pipeline, "normalization_step", lambda pid, images, mask, transforms, files, settings, grid, truth: calls.setdefault("normalize", (grid, sorted(transforms)))
    )
    images = {seq: f"{seq}.nii.gz" for seq in present}
    settings = {k: v for k, v in head.PREPROCESSING.items() if k != "reference"}
    if preference:
        settings["reference"] = preference
    settings = PreprocessingSettings.from_config(settings)
    grid = patient_grid(images, settings.reference)
    pipeline.preprocess_patient("x", images, PreprocessingFiles.bids("p", "q", "x", *grid), settings, grid)
    moved = [seq for seq in SEQUENCES if seq in present and seq != reference]
    assert calls["bet"] == f"{bet_on}.nii.gz"
    assert calls["coreg"] == [(seq, f"{reference}.nii.gz", reference) for seq in moved]
    assert calls["normalize"] == ((reference, bet_on), sorted(moved))


def test_no_reference_sequence_is_refused():
    settings = PreprocessingSettings.from_config(head.PREPROCESSING)
    with pytest.raises(ValueError, match="none of the reference sequences"):
        patient_grid({"T1pre": "a", "FLAIR": "b"}, settings.reference)


def _truth_on(shape, affine, seq):
    """Ground-truth tissue labels on a grid of ``seq``'s scanner space."""
    ijk = np.indices(shape).reshape(3, -1).T.astype(float)
    scanner = ijk @ affine[:3, :3].T + affine[:3, 3]
    inverse = np.linalg.inv(head.pose(seq))
    return head.tissue(scanner @ inverse[:3, :3].T + inverse[:3, 3]).reshape(shape)


def _brain_points(seq, step=3):
    shape, spacing, angles, _ = head.ACQUISITIONS[seq]
    affine = head.grid_affine(shape, spacing, angles)
    inside = np.argwhere(_truth_on(shape, affine, seq) > 0)[::step]
    return inside @ affine[:3, :3].T + affine[:3, 3]


def test_patient_without_bravo_is_preprocessed_on_the_t1gd_grid(tmp_path):
    images = head.write_patient(tmp_path, ("T1pre", "T1gd", "FLAIR"))
    files = PreprocessingFiles.bids(tmp_path / "preproc", tmp_path / "qc", "nb", "T1gd", "T1pre")
    settings = PreprocessingSettings.from_config(head.PREPROCESSING)
    reports = pipeline.preprocess_patient("nb", images, files, settings, patient_grid(images, settings.reference))
    normalized = files.normalization
    assert sorted(reports["coregister"]) == ["FLAIR", "T1pre"]
    assert reports["normalize"]["reference"] == "T1gd"
    t1gd = nib.load(str(images["T1gd"]))
    shape, affine = normalize.inplane_grid(t1gd.affine, t1gd.shape, 32)
    mask = nib.load(str(normalized.brain_mask))
    assert mask.shape == shape and np.allclose(mask.affine, affine, atol=1e-5)
    assert normalized.brain_mask.name == "sub-nb_space-T1gd_desc-brain_mask.nii.gz"
    for seq in ("T1pre", "T1gd", "FLAIR"):
        image = nib.load(str(normalized.images[seq]))
        assert image.shape == shape and np.allclose(image.affine, affine, atol=1e-5)
    assert not normalized.images["BRAVO"].exists()
    # Registration onto the T1gd undoes each acquisition's head motion.
    points = _brain_points("T1gd")
    for seq in ("T1pre", "FLAIR"):
        transform = files.coregistration[seq].transform
        assert transform.name == f"sub-nb_from-{seq}_to-T1gd_mode-image_xfm.mat"
        estimated = registration.read_rigid_ras(transform)
        error = registration.target_registration_error(estimated, head.true_moving_to_reference(seq, "T1gd"), points)
        before = registration.target_registration_error(np.eye(4), head.true_moving_to_reference(seq, "T1gd"), points)
        assert error.mean() < 2.0 and before.mean() > 5.0, (seq, error.mean(), before.mean())
    # The T1pre's brain mask, carried onto the T1gd grid, covers the brain.
    truth = _truth_on(shape, affine, "T1gd") > 0
    found = np.asarray(mask.dataobj) > 0
    assert 2 * (truth & found).sum() / (truth.sum() + found.sum()) > 0.9


def test_brain_extraction_runs_on_the_reference_without_t1pre(tmp_path):
    images = head.write_patient(tmp_path, ("T1gd", "FLAIR"))
    files = PreprocessingFiles.bids(tmp_path / "preproc", tmp_path / "qc", "nt", "T1gd", "T1gd")
    settings = PreprocessingSettings.from_config(head.PREPROCESSING)
    reports = pipeline.preprocess_patient("nt", images, files, settings, patient_grid(images, settings.reference))
    assert list(reports["coregister"]) == ["FLAIR"]
    bet = nib.load(str(files.brain_extraction.mask))
    t1gd = nib.load(str(images["T1gd"]))
    assert files.brain_extraction.mask.name == "sub-nt_space-T1gd_res-native_desc-brain_mask.nii.gz"
    assert bet.shape == t1gd.shape and np.allclose(bet.affine, t1gd.affine)
    # Drawn on the reference itself: carried over with no transform.
    shape, affine = normalize.inplane_grid(t1gd.affine, t1gd.shape, 32)
    truth = _truth_on(shape, affine, "T1gd") > 0
    found = np.asarray(nib.load(str(files.normalization.brain_mask)).dataobj) > 0
    assert 2 * (truth & found).sum() / (truth.sum() + found.sum()) > 0.9


def test_workflow_calls_keep_the_bravo(tmp_path):
    """The workflow's scripts call the steps positionally, with all four
    sequences and the BRAVO layout (workflow_scripts/coregister.py,
    normalize.py): the BRAVO stays the reference."""
    images = head.write_patient(tmp_path)
    files = PreprocessingFiles.bids(tmp_path / "preproc", tmp_path / "qc", "wf")
    settings = PreprocessingSettings.from_config(head.PREPROCESSING)
    pipeline.brain_extraction_step("wf", images["T1pre"], files.brain_extraction, settings.brain_extraction)
    for seq in MOVING:
        pipeline.coregistration_step("wf", seq, images["BRAVO"], images[seq], files.coregistration[seq], settings.registration)
    normalized = files.normalization
    report = pipeline.normalization_step(
        "wf", dict(images), files.brain_extraction.mask, files.transforms(MOVING), normalized, settings, PatientGrid("BRAVO", "T1pre")
    )
    assert report["reference"] == "BRAVO"
    bravo = nib.load(str(images["BRAVO"]))
    shape, affine = normalize.inplane_grid(bravo.affine, bravo.shape, 32)
    mask = nib.load(str(normalized.brain_mask))
    assert normalized.brain_mask.name == "sub-wf_space-BRAVO_desc-brain_mask.nii.gz"
    assert mask.shape == shape and np.allclose(mask.affine, affine, atol=1e-5)
    error = registration.target_registration_error(
        registration.read_rigid_ras(files.coregistration["T1gd"].transform), head.true_moving_to_reference("T1gd", "BRAVO"), _brain_points("BRAVO")
    )
    assert error.mean() < 2.0


@pytest.mark.parametrize("reference", ["BRAVO", "T1gd"])
def test_phantom_registration_error_on_either_reference(tiny_patients, reference):
    """The phantom records each sequence's motion relative to its BRAVO; the
    error of a registration onto another reference composes the two."""
    import json

    from brainmets.phantom.generate import phantom_paths

    phantom_registration_error = pipeline.phantom_registration_error
    _, out = tiny_patients["002"]
    truth = phantom_paths(out, "002")
    recorded = json.loads(truth["transforms"].read_text())
    to_bravo = {seq: np.asarray(t["matrix"]) for seq, t in recorded.items()} | {"BRAVO": np.eye(4)}
    exact = np.linalg.inv(to_bravo["FLAIR"]) @ to_bravo[reference]  # reference -> FLAIR
    assert phantom_registration_error(truth, "FLAIR", exact, reference)["tre_max_mm"] < 1e-6
    other = "T1gd" if reference == "BRAVO" else "BRAVO"
    wrong = np.linalg.inv(to_bravo["FLAIR"]) @ to_bravo[other]
    assert phantom_registration_error(truth, "FLAIR", wrong, reference)["tre_mean_mm"] > 1.0
