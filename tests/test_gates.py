"""The catalogue of inputs that must stop ``brainmets-predict`` (and the
workflow) with one line naming patient, file and problem, before anything
final is written; the table in docs/own-data.md lists the same cases.

Each case swaps one input of a tiny phantom patient for a broken one. The
model folder is a stand-in whose files pass their checks: every case stops
before the network would be loaded."""

import gzip
import json
import logging
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import nibabel as nib
import numpy as np
import pytest
import yaml

from brainmets import predict
from brainmets.cohort.header import canonical
from brainmets.cohort.sheet import read_sheet
from brainmets.geometry import rigid
from brainmets.layout import CoregistrationFiles, PreprocessingFiles
from brainmets.phantom.generate import phantom_paths
from brainmets.preprocessing.pipeline import coregistration_step
from brainmets.preprocessing.settings import RegistrationSettings
from brainmets.sequences import SEQUENCES, PatientGrid
from brainmets.snakemake_io import logged
from brainmets.staging import stage_outputs

REPO = Path(__file__).resolve().parents[1]

# An oblique, off-centre grid of 16 mm voxels: head-sized in a few voxels.
AFFINE = rigid((4, -3, 10), (-70, -90, -40)) @ np.diag([16.0, 16.0, 16.0, 1])
SHAPE = (12, 14, 10)


def _image(path, data=None, affine=AFFINE, codes=(1, 1), dtype=np.float32):
    data = np.random.default_rng(0).random(SHAPE).astype(dtype) + 1 if data is None else data
    img = nib.Nifti1Image(data, affine)
    img.set_qform(affine, code=codes[0])
    img.set_sform(affine, code=codes[1])
    nib.save(img, str(path))
    return path


@pytest.fixture
def model(tmp_path):
    """A model folder whose card, network archive and threshold pass their checks."""
    folder = tmp_path / "model"
    folder.mkdir()
    card = {
        "format_version": 1, "sequences": list(SEQUENCES), "channels": 12, "context": 3, "inplane_size": 32, "fingerprint": "x",
        "preprocessing": {"brain_extraction": {}, "registration": {}, "inplane_size": 32, "normalization": "zscore"},
    }
    (folder / "model.json").write_text(json.dumps(card, indent=2))
    with zipfile.ZipFile(folder / "model.keras", "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\0" * 64)
    (folder / "threshold.json").write_text(json.dumps({"operating_threshold": 0.5}))
    return folder


@pytest.fixture
def patient(tmp_path):
    """Four images of one head (random voxels: every case stops before they are looked at as a head)."""
    return {seq: str(_image(tmp_path / f"{seq}.nii.gz", np.random.default_rng(i).random(SHAPE).astype(np.float32) + 1)) for i, seq in enumerate(SEQUENCES)}


def _predict(capsys, model, out, images, pid="p7", extra=()):
    argv = [*(a for seq, p in images.items() for a in (f"--{seq.lower()}", str(p))), "--model", str(model), "--out", str(out), "--id", pid, *extra]
    code = predict.main(argv)
    logging.getLogger().handlers.clear()
    lines = [line for line in capsys.readouterr().err.splitlines() if " ERROR " in line or "Traceback" in line]
    return code, lines


def _refused(capsys, model, tmp_path, images, *expected, pid="p7", extra=(), out=None):
    """The case ends with exit 1 and one line that names the patient and
    says each of ``expected``; no output folder appears."""
    out = out or tmp_path / "out"
    code, lines = _predict(capsys, model, out, images, pid, extra)
    assert code == 1
    assert len(lines) == 1, lines
    assert f"patient '{pid}'" in lines[0]
    for text in expected:
        assert re.search(text, lines[0]), (text, lines[0])
    assert not any(p.name.startswith(f".{out.name}.") for p in out.parent.iterdir()), "no staging folder left behind"
    return lines[0]


def _raw(path, edit):
    """A NIfTI file whose header ``edit`` changed as written (nibabel's save
    would repair it)."""
    data = np.random.default_rng(0).random(SHAPE).astype(np.float32) + 1
    header = nib.Nifti1Header()
    header.set_data_shape(SHAPE)
    header.set_data_dtype(np.float32)
    header.set_qform(AFFINE, code=1)
    header.set_sform(AFFINE, code=1)
    header["vox_offset"] = 352
    edit(header)
    path.write_bytes(gzip.compress(header.binaryblock + b"\0" * 4 + data.tobytes(order="F")))
    return path


def test_no_orientation(capsys, model, patient, tmp_path):
    # Negative voxel sizes and neither qform nor sform, as in the case.
    def strip(header):
        header["qform_code"] = header["sform_code"] = 0
        header["pixdim"][1:4] = [-16, -16, 16]

    bad = _raw(tmp_path / "bad.nii.gz", strip)
    _refused(capsys, model, tmp_path, {**patient, "BRAVO": bad}, "bad.nii.gz", "no orientation")


def test_negative_voxel_size(capsys, model, patient, tmp_path):
    bad = _raw(tmp_path / "neg.nii.gz", lambda header: header["pixdim"].__setitem__(2, -16))
    _refused(capsys, model, tmp_path, {**patient, "T1pre": bad}, "neg.nii.gz", r"voxel sizes \(pixdim\) .* not all positive")


def test_sheared_affine(capsys, model, patient, tmp_path):
    sheared = AFFINE.copy()
    sheared[0, 1] += 6.0  # a sixth of a voxel: no scanner's rotation
    _refused(capsys, model, tmp_path, {**patient, "FLAIR": _image(tmp_path / "shear.nii.gz", affine=sheared)}, "shear.nii.gz", "not orthonormal")


def test_singular_affine(capsys, model, patient, tmp_path):
    def flatten(header):  # the sform's third column zero: every slice in one place
        header["qform_code"] = 0
        for row in ("srow_x", "srow_y", "srow_z"):
            header[row][2] = 0

    singular = _raw(tmp_path / "singular.nii.gz", flatten)
    _refused(capsys, model, tmp_path, {**patient, "T1gd": singular}, "singular.nii.gz", "zero voxel size")


def test_tiny_noise_image(capsys, model, patient, tmp_path):
    noise = _image(tmp_path / "noise.nii.gz", np.random.default_rng(3).random((4, 4, 4)).astype(np.float32), rigid((0, 0, 5), (1, 2, 3)))
    _refused(capsys, model, tmp_path, {**patient, "BRAVO": noise}, "noise.nii.gz", "field of view 4 x 4 x 4 mm is not head-sized")


def test_field_of_view_far_away(capsys, model, patient, tmp_path):
    moved = AFFINE.copy()
    moved[:3, 3] += [1000, 0, 0]
    far = _image(tmp_path / "far.nii.gz", affine=moved)
    _refused(capsys, model, tmp_path, {**patient, "T1gd": far}, "far.nii.gz", "T1gd lies 1000 mm from the BRAVO", "0% of the field of view")


@pytest.mark.parametrize("value, says", [(0.0, "every voxel is 0: the image is blank"), (7.0, "every voxel is 7: the image is constant")])
def test_blank_or_constant(capsys, model, patient, tmp_path, value, says):
    flat = _image(tmp_path / "flat.nii.gz", np.full(SHAPE, value, np.float32))
    _refused(capsys, model, tmp_path, {**patient, "FLAIR": flat}, "flat.nii.gz", says)


def _claiming(path, shape, dtype=np.int16, gz=False):
    """A header claiming ``shape`` with no voxel data behind it."""
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(dtype)
    header.set_qform(AFFINE, code=1)
    header.set_sform(AFFINE, code=1)
    raw = header.binaryblock + b"\0" * 4
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def test_header_claiming_gigabytes(capsys, model, patient, tmp_path):
    bad = _claiming(tmp_path / "huge.nii", (4000, 4000, 4000))
    assert bad.stat().st_size < 400
    _refused(capsys, model, tmp_path, {**patient, "BRAVO": bad}, "huge.nii", "4000x4000x4000 voxels of int16", "million voxels")


def test_header_larger_than_its_file(capsys, model, patient, tmp_path):
    bad = _claiming(tmp_path / "short.nii.gz", (400, 400, 300), gz=True)
    _refused(capsys, model, tmp_path, {**patient, "BRAVO": bad}, "short.nii.gz", "400x400x300 voxels", "gzip file can hold")
    plain = _claiming(tmp_path / "short.nii", (100, 100, 60))
    _refused(capsys, model, tmp_path, {**patient, "BRAVO": plain}, "short.nii", "but the file holds 352 bytes")


@pytest.mark.parametrize(
    "name, content, says",
    [
        ("model.json", '{"format_version": 1}', "model.json: the model card lacks 'sequences'"),
        ("model.json", '{"format_version": 1,\n "sequences": ["BRAVO"', r"model.json: line 2, column \d+: not valid JSON"),
        ("threshold.json", '{"operating_thr', "threshold.json: line 1, column 2: not valid JSON"),
        ("threshold.json", '{"operating_threshold": 5}', "must be a number from 0 to 1"),
        ("model.keras", None, "model.keras: not a readable Keras model archive"),
    ],
)
def test_broken_model_folder(capsys, model, patient, tmp_path, name, content, says):
    if content is None:  # truncated archive
        (model / name).write_bytes((model / name).read_bytes()[:40])
    else:
        (model / name).write_text(content)
    _refused(capsys, model, tmp_path, patient, "model file", says)


def test_unicode_id(capsys, model, patient, tmp_path):
    _refused(capsys, model, tmp_path, patient, "ASCII letters and digits", pid="²é")


def test_output_folder_is_a_file(capsys, model, patient, tmp_path):
    (tmp_path / "out").write_text("x")
    _refused(capsys, model, tmp_path, patient, "the output folder is a file")


def test_output_folder_of_another_patient(capsys, model, patient, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub-A_desc-lesions.tsv").write_text("lesion_id\n")
    _refused(capsys, model, tmp_path, patient, "holds 1 entries", "outputs of sub-A", "--overwrite")
    assert (out / "sub-A_desc-lesions.tsv").exists()  # refused: left as it was
    # --overwrite empties it first; the run then stops on the stand-in network, and the old outputs stay.
    code, lines = _predict(capsys, model, out, patient, extra=("--overwrite",))
    assert code == 1 and len(lines) == 1 and "model.keras: the network cannot be loaded" in lines[0]
    assert [p.name for p in out.iterdir()] == ["sub-A_desc-lesions.tsv"], "a failed run leaves the folder as it found it"


def test_read_only_parent(capsys, model, patient, tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        if (parent / "probe").exists() or _writable(parent):
            pytest.skip("running as a user who writes anywhere (root)")
        _refused(capsys, model, tmp_path, patient, "cannot write beside the output folder", out=parent / "out")
    finally:
        parent.chmod(0o700)


def _writable(folder):
    try:
        (folder / "probe").write_text("")
    except OSError:
        return False
    (folder / "probe").unlink()
    return True


def test_killed_run_leaves_the_previous_outputs_alone(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "sub-A_desc-lesions.tsv").write_text("A")
    with pytest.raises(KeyboardInterrupt):
        with stage_outputs(final, "B", overwrite=True) as stage:
            (stage / "sub-B_desc-lesions.tsv").write_text("B")
            raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["out"] and [p.name for p in final.iterdir()] == ["sub-A_desc-lesions.tsv"]
    with stage_outputs(final, "B", overwrite=True) as stage:
        (stage / "sub-B_desc-lesions.tsv").write_text("B")
    assert [p.name for p in final.iterdir()] == ["sub-B_desc-lesions.tsv"]


@pytest.mark.parametrize(
    "content, says",
    [
        (b"patient_id\tBRAVO\n", "no patients"),
        (b"", "the file is empty"),
        (b"patient_id\tBRAVO\nM\xe9t1\tb.nii.gz\n", "line 2: not UTF-8"),
    ],
)
def test_cohort_sheet(tmp_path, content, says):
    sheet = tmp_path / "cohort.tsv"
    sheet.write_bytes(content)
    with pytest.raises(ValueError, match=f"cohort sheet {re.escape(str(sheet))}.*{says}"):
        read_sheet(sheet)


def test_workflow_script_failure_is_one_line(tmp_path, capsys):
    smk = SimpleNamespace(log=[str(tmp_path / "job.log")], wildcards={"pid": "p9"}, input=[str(tmp_path / "in.nii.gz")])
    with pytest.raises(SystemExit) as exit_info:
        with logged(smk):
            {}["channels"]
    logging.getLogger().handlers.clear()
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 1
    assert len(err) == 1 and "ERROR" in err[0]
    assert f"patient 'p9', file {tmp_path / 'in.nii.gz'}: KeyError: 'channels'" in err[0]
    assert "Traceback" in (tmp_path / "job.log").read_text()


def test_mirrored_and_permuted_copies_are_one_image(tmp_path, model):
    """The same head stored mirrored, or with its axes permuted, under a
    compensating affine, reaches the pipeline as the same arrays."""
    data = np.random.default_rng(5).random(SHAPE).astype(np.float32)
    flip = np.eye(4)
    flip[0, 0], flip[0, 3] = -1, SHAPE[0] - 1  # voxel i of the copy is voxel n-1-i
    perm = np.eye(4)[[2, 0, 1, 3]]  # copy voxel (k, i, j) is voxel (i, j, k)
    copies = {
        "original": (data, AFFINE),
        "mirrored": (data[::-1].copy(), AFFINE @ flip),
        "permuted": (np.transpose(data, (2, 0, 1)).copy(), AFFINE @ np.linalg.inv(perm)),
    }
    seen = {}
    for name, (array, affine) in copies.items():
        path = _image(tmp_path / f"{name}.nii.gz", array, affine)
        inputs, _ = predict.canonical_inputs("p1", {"BRAVO": path}, tmp_path / name)
        img = nib.load(inputs["BRAVO"])
        seen[name] = (np.asarray(img.dataobj), img.affine)
    for name in ("mirrored", "permuted"):
        np.testing.assert_array_equal(seen[name][0], seen["original"][0])
        np.testing.assert_allclose(seen[name][1], seen["original"][1], atol=1e-6)
    assert seen["original"][0].shape == canonical(data, AFFINE)[0].shape


@pytest.fixture(scope="module")
def two_phantoms(tmp_path_factory):
    from .conftest import SEED, tiny_config
    from brainmets.phantom.generate import generate_patient

    root = tmp_path_factory.mktemp("gate_phantoms")
    for index, pid in enumerate(("001", "002")):
        generate_patient(tiny_config(), SEED, index, pid, "1-3", phantom_paths(root / f"sub-{pid}", pid))
    return {pid: phantom_paths(root / f"sub-{pid}", pid) for pid in ("001", "002")}


def _coregister(tmp_path, fixed, moving, settings, **kwargs):
    files = CoregistrationFiles(transform=tmp_path / "x.mat", report=tmp_path / "x.json", qc=tmp_path / "x.png")
    base = {"histogram_bins": 32, "sampling_rate": 0.25, "resample_mm": 3.0, "shrink_factors": [4, 2, 1], "smoothing_sigmas": [2, 1, 0], "iterations": [100, 50, 10], "seed": 1}
    settings = RegistrationSettings.from_config({**base, **settings})
    return coregistration_step("001", "T1gd", fixed, moving, files, settings, **kwargs), files


def test_registration_gate(two_phantoms, tmp_path):
    """The patient's own T1gd passes; another patient's fails on its
    residual local shift (4 mm phantoms: limit one 4 mm voxel), or is only
    flagged when the config says warn. Its mutual information, which rose
    during registration as for any good one, plays no part."""
    own, other = two_phantoms["001"], two_phantoms["002"]
    report, _ = _coregister(tmp_path, own["BRAVO"], own["T1gd"], {})
    assert report["registration"] == "passed" and report["residual_shift_mm"] == 0.0 and report["mi_drop_when_displaced"] > 0.2
    says = r"patient '001', file .*sub-002_T1gd.nii.gz: T1gd registration onto the BRAVO is implausible: after rigid registration its blocks still need a median local shift of \d+\.\d mm to match \(limit 4\.0 mm"
    with pytest.raises(ValueError, match=says):
        _coregister(tmp_path, own["BRAVO"], other["T1gd"], {})
    report, files = _coregister(tmp_path, own["BRAVO"], other["T1gd"], {"implausible": "warn"})
    assert report["registration"] == "flagged" and report["mi_after"] > report["mi_before"]
    assert json.loads(files.report.read_text())["registration"] == "flagged"
    # The workflow's way: the verdict is written, a later step acts on it.
    report, files = _coregister(tmp_path, own["BRAVO"], other["T1gd"], {}, enforce=False)
    assert report["registration"] == "failed" and report["residual_shift_mm"] > 4.0
    assert json.loads(files.report.read_text())["problem"] == report["problem"]


def test_sequences_already_aligned_on_one_grid_pass(two_phantoms, tmp_path):
    """As BraTS and BrainMetShare ship them: every sequence on the BRAVO's
    grid, nothing left to register. Each passes, whichever way rounding
    moves its mutual information."""
    from .aligned_phantom import write_aligned

    aligned = write_aligned(two_phantoms["001"], tmp_path / "aligned", "001")
    for seq in ("T1pre", "T1gd", "FLAIR"):
        files = CoregistrationFiles(transform=tmp_path / f"{seq}.mat", report=tmp_path / f"{seq}.json", qc=tmp_path / f"{seq}.png")
        base = {"histogram_bins": 32, "sampling_rate": 0.25, "resample_mm": 3.0, "shrink_factors": [4, 2, 1], "smoothing_sigmas": [2, 1, 0], "iterations": [100, 50, 10], "seed": 1}
        report = coregistration_step("001", seq, aligned["BRAVO"], aligned[seq], files, RegistrationSettings.from_config(base))
        assert report["registration"] == "passed", report
        # Within one 4 mm voxel (the FLAIR's 5-6.4 mm slices, resampled, blur its edges).
        assert abs(report["mi_after"] - report["mi_before"]) < 0.02 * report["mi_before"] and report["residual_shift_mm"] < 4.0


@pytest.fixture(scope="module")
def small_phantoms(tmp_path_factory):
    """Two 64x64x40 phantom patients (4 mm)."""
    from .conftest import SEED, tiny_config
    from brainmets.phantom.generate import generate_patient

    root = tmp_path_factory.mktemp("swap_phantoms")
    for index, pid in ((2, "003"), (3, "004")):
        generate_patient(tiny_config(), SEED, index, pid, "1-3", phantom_paths(root / f"sub-{pid}", pid))
    return {pid: phantom_paths(root / f"sub-{pid}", pid) for pid in ("003", "004")}


def test_sequences_of_another_patient(small_phantoms, tmp_path):
    """T1gd and FLAIR from another patient: the residual local shift names
    the swap, the patient's own T1pre passes."""
    from brainmets.preprocessing.pipeline import run_step
    from brainmets.preprocessing.settings import PreprocessingSettings

    own, other = small_phantoms["003"], small_phantoms["004"]
    assert nib.load(str(own["BRAVO"])).shape == (64, 64, 40)
    images = {"BRAVO": own["BRAVO"], "T1pre": own["T1pre"], "T1gd": other["T1gd"], "FLAIR": other["FLAIR"]}
    files = PreprocessingFiles.bids(tmp_path / "preproc", tmp_path / "qc", "003")
    registration = {"histogram_bins": 32, "sampling_rate": 0.25, "resample_mm": 3.0, "shrink_factors": [4, 2, 1], "smoothing_sigmas": [2, 1, 0], "iterations": [100, 50, 10], "seed": 1}
    block = {**yaml.safe_load((REPO / "config.yaml").read_text())["preprocessing"], "reference": ["BRAVO"], "registration": registration}
    settings = PreprocessingSettings.from_config(block)
    says = r"patient '003', file .*sub-004_T1gd.nii.gz: T1gd registration onto the BRAVO is implausible: after rigid registration its blocks still need a median local shift of \d+\.\d mm to match \(limit 4\.0 mm"
    with pytest.raises(ValueError, match=says) as error:
        run_step("coregister", "003", images, files, settings, PatientGrid("BRAVO", "T1pre"))
    assert len(str(error.value).splitlines()) == 1 and "mutual information" not in str(error.value)
    passed = json.loads(files.coregistration["T1pre"].report.read_text())
    assert passed["registration"] == "passed" and passed["residual_shift_mm"] < 2.0
    failed = json.loads(files.coregistration["T1gd"].report.read_text())
    assert failed["registration"] == "failed" and failed["residual_shift_mm"] > 4.0
    # Warn instead: every sequence registered, the swapped ones flagged with their shift.
    warn = PreprocessingSettings.from_config({**block, "registration": {**registration, "implausible": "warn"}})
    reports = run_step("coregister", "003", images, files, warn, PatientGrid("BRAVO", "T1pre"))
    assert {seq: r["registration"] for seq, r in reports.items()} == {"T1pre": "passed", "T1gd": "flagged", "FLAIR": "flagged"}
    assert all("local shift" in reports[seq]["problem"] for seq in ("T1gd", "FLAIR"))
