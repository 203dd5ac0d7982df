"""The BraTS-layout reader, on fake releases and on one real case."""

import json
import logging
from pathlib import Path

import jsonschema
import nibabel as nib
import numpy as np
import pytest
import yaml

from brainmets.cohort import brats
from brainmets.layout import ingested_files
from tests.ingested import ingest_into
from brainmets.cohort.header import canonical
from brainmets.cohort.validate import InputError
from brainmets.geometry import rotation_matrix
from brainmets.workflow import cohort_records

from ..conftest import require_realdata

SHAPE = (10, 8, 6)
# Oblique, anisotropic, off-centre: a grid a reader could not guess.
# Voxels of 15-18 mm give a head-sized field of view in a few voxels.
AFFINE = np.eye(4)
AFFINE[:3, :3] = rotation_matrix((0, 0, 8)) @ np.array([[0.0, 0, 18], [-15, 0, 0], [0, 16.5, 0]])
AFFINE[:3, 3] = (-30, 40, -20)
CASE = "brats_layout/BraTS-GLI-00001-000/BraTS-GLI-00001-000"


def _save(path, data, affine=AFFINE):
    nib.save(nib.Nifti1Image(data, affine), str(path))


def _seg(labels=(1, 2, 3)):
    seg = np.zeros(SHAPE, np.uint8)
    seg[1:3, 1:3, 1:3] = labels[0]  # necrotic core, next to
    seg[3:5, 1:3, 1:3] = labels[1]  # oedema, next to
    seg[5:7, 1:3, 1:3] = labels[2]  # enhancing tumour: one lesion of 1|3 split by oedema
    seg[8, 6, 4] = labels[2]  # a second, distant enhancing spot
    return seg


def _case(root, name, seg=None, skip=(), affines=None):
    case = root / name
    case.mkdir(parents=True)
    rng = np.random.default_rng(len(name))
    for suffix in ("t1c", "t1n", "t2f", "t2w"):
        if suffix in skip:
            continue
        data = rng.integers(0, 1000, SHAPE).astype(np.int16)
        _save(case / f"{name}-{suffix}.nii.gz", data, (affines or {}).get(suffix, AFFINE))
    if seg is not None:
        _save(case / f"{name}-seg.nii.gz", seg)
    return case


@pytest.fixture
def release(tmp_path):
    root = tmp_path / "BraTS-METS"
    _case(root, "BraTS-MET-00001-000", seg=_seg())
    _case(root, "BraTS-MET-00002-000")  # unlabelled (validation set)
    _case(root, "BraTS-MET-00003-000", seg=_seg(), skip=("t2f",))
    _case(root, "BraTS-MET-00004-000", seg=_seg((1, 2, 5)))
    shifted = AFFINE.copy()
    shifted[:3, 3] += [0.0, 2.0, 0.0]
    _case(root, "BraTS-MET-00005-000", seg=_seg(), affines={"t1c": shifted})
    (root / "notes").mkdir()  # not a case
    return root


def test_good_cases_discovered(release):
    records = {r.patient_id: r for r in brats.discover(release)}
    assert sorted(records) == ["BraTSMET00001000", "BraTSMET00002000"]
    good = records["BraTSMET00001000"]
    case = release / "BraTS-MET-00001-000"
    assert good.images == {
        "T1pre": case / "BraTS-MET-00001-000-t1n.nii.gz",
        "T1gd": case / "BraTS-MET-00001-000-t1c.nii.gz",
        "FLAIR": case / "BraTS-MET-00001-000-t2f.nii.gz",
    }
    assert good.lesions == case / "BraTS-MET-00001-000-seg.nii.gz"
    assert good.source == "brats"
    meta = good.metadata
    assert meta["source"] == "brats" and meta["case"] == "BraTS-MET-00001-000"
    assert meta["preprocessed"] and meta["skull_stripped"] and meta["coregistered"]
    assert meta["t2w"] == str(case / "BraTS-MET-00001-000-t2w.nii.gz")
    assert meta["lesion_labels"] == [1, 3]
    assert records["BraTSMET00002000"].lesions is None


def test_bad_cases_named_with_their_file_and_left_out(release, caplog):
    records, problems = brats.scan(release)
    assert len(records) == 2
    by_case = {}
    for p in problems:
        by_case.setdefault(p.patient, []).append(p)
    assert sorted(by_case) == ["BraTS-MET-00003-000", "BraTS-MET-00004-000", "BraTS-MET-00005-000"]
    assert all(len(v) == 1 for v in by_case.values())

    missing = by_case["BraTS-MET-00003-000"][0]
    assert missing.file.endswith("BraTS-MET-00003-000/BraTS-MET-00003-000-t2f.nii.gz")
    assert "t2f (FLAIR) file is missing" in missing.problem
    label = by_case["BraTS-MET-00004-000"][0]
    assert label.file.endswith("BraTS-MET-00004-000-seg.nii.gz") and "label(s) 5 outside" in label.problem
    grid = by_case["BraTS-MET-00005-000"][0]
    # The odd one out is named, not the files that agree with each other.
    assert grid.file.endswith("BraTS-MET-00005-000-t1c.nii.gz")
    assert "affine differs" in grid.problem and "not on one grid" in grid.problem

    with caplog.at_level(logging.WARNING, logger="brainmets.cohort.brats"):
        assert len(brats.discover(release)) == 2
    logged = caplog.text
    for p in problems:
        assert p.patient in logged and p.file in logged


def test_shape_mismatch_named(tmp_path):
    case = _case(tmp_path, "BraTS-MET-00010-000", seg=_seg())
    _save(case / "BraTS-MET-00010-000-t1n.nii.gz", np.zeros((10, 8, 7), np.int16))
    _, problems = brats.scan(tmp_path)
    assert len(problems) == 1
    assert problems[0].file.endswith("-t1n.nii.gz") and "t1n shape (10, 8, 7) differs from (10, 8, 6)" in problems[0].problem


def test_only_bad_cases_fail(tmp_path):
    _case(tmp_path, "BraTS-MET-00003-000", skip=("t2f",))
    with pytest.raises(ValueError, match=r"no valid BraTS case.*BraTS-MET-00003-000-t2f"):
        brats.discover(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no BraTS case folders"):
        brats.discover(tmp_path / "empty")
    with pytest.raises(ValueError, match="does not exist"):
        brats.discover(tmp_path / "absent")


def test_ingest_writes_three_sequences_and_tumour_core_mask(release, tmp_path):
    records = {r.patient_id: r for r in brats.discover(release)}
    out = tmp_path / "cohort"
    patient = ingest_into(records["BraTSMET00001000"], out)
    paths = ingested_files(out, "BraTSMET00001000")
    # Stored in canonical voxel order: the same voxels in the world.
    seg = _seg()
    core, core_affine = canonical(((seg == 1) | (seg == 3)).astype(np.uint8), AFFINE)
    for seq in ("T1pre", "T1gd", "FLAIR"):
        img = nib.load(str(paths[seq]))
        assert img.shape == core.shape
        np.testing.assert_allclose(img.affine, core_affine, atol=1e-5)
    assert not paths["BRAVO"].exists()
    mask_img = nib.load(str(paths["lesions"]))
    np.testing.assert_allclose(mask_img.affine, core_affine, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(mask_img.dataobj), core)
    # Core and enhancing part are split by oedema: with the spot, three lesions.
    assert patient["labelled"] and patient["n_lesions"] == 3 and patient["subgroup"] == "1-3"
    assert patient["source"] == "brats" and patient["metadata"]["preprocessed"] is True
    assert sorted(patient["images"]) == ["FLAIR", "T1gd", "T1pre"]
    assert json.loads(paths["patient"].read_text())["metadata"]["t2w"].endswith("-t2w.nii.gz")

    unlabelled = ingest_into(records["BraTSMET00002000"], out)
    assert unlabelled["labelled"] is False and unlabelled["n_lesions"] is None


def test_label_set_setting(release, tmp_path):
    seg = _seg()
    for labels, expected in (((2,), seg == 2), ((1, 2, 3), seg > 0), ((3,), seg == 3)):
        records = {r.patient_id: r for r in brats.discover(release, labels)}
        assert records["BraTSMET00001000"].metadata["lesion_labels"] == list(labels)
        out = tmp_path / "-".join(map(str, labels))
        ingest_into(records["BraTSMET00001000"], out)
        mask = np.asarray(nib.load(str(ingested_files(out, "BraTSMET00001000")["lesions"])).dataobj)
        np.testing.assert_array_equal(mask, canonical(expected.astype(np.uint8), AFFINE)[0])
    for bad in ((), (0, 1), (5,)):
        with pytest.raises(ValueError, match="subset of 1, 2, 3"):
            brats.discover(release, bad)


def test_ingest_rechecks_the_segmentation(release, tmp_path):
    record = {r.patient_id: r for r in brats.discover(release)}["BraTSMET00001000"]
    _save(record.lesions, _seg((1, 7, 3)))  # changed after discovery
    with pytest.raises(InputError, match=r"-seg\.nii\.gz: segmentation label\(s\) 7 outside"):
        ingest_into(record, tmp_path / "cohort")


def test_float_segmentation(tmp_path):
    _case(tmp_path, "BraTS-MET-00020-000", seg=_seg().astype(np.float32))
    _case(tmp_path, "BraTS-MET-00021-000", seg=_seg().astype(np.float32) * 0.5)
    records, problems = brats.scan(tmp_path)
    assert [r.patient_id for r in records] == ["BraTSMET00020000"]
    assert problems[0].patient == "BraTS-MET-00021-000" and "0.5, 1.5 outside" in problems[0].problem


def test_label_cache_reused_and_refreshed(release, tmp_path, monkeypatch):
    cache = tmp_path / "labels.json"
    brats.discover(release, cache=cache)
    assert len(json.loads(cache.read_text())) == 4  # the four segmentations

    def no_read(*args):
        raise AssertionError("segmentation read again")

    monkeypatch.setattr(brats, "load_image", no_read)
    assert len(brats.discover(release, cache=cache)) == 2
    monkeypatch.undo()
    # A changed file is read again, whatever the cache says.
    seg = release / "BraTS-MET-00001-000" / "BraTS-MET-00001-000-seg.nii.gz"
    _save(seg, _seg((1, 2, 9)))
    ids = [r.patient_id for r in brats.discover(release, cache=cache)]
    assert ids == ["BraTSMET00002000"]


def test_patient_ids():
    assert brats.patient_id("BraTS-MET-00001-000") == "BraTSMET00001000"
    assert brats.patient_id("BraTS_GLI.00001 000") == "BraTSGLI00001000"


def test_colliding_ids_leave_later_case_out(tmp_path):
    _case(tmp_path / "a", "BraTS-MET-1")
    _case(tmp_path / "b", "BraTSMET-1")
    records, problems = brats.scan(tmp_path)
    assert [r.metadata["case"] for r in records] == ["BraTS-MET-1"]
    assert problems[0].patient == "BraTSMET-1" and "already taken by case" in problems[0].problem


def test_cohort_records_and_schema(release, tmp_path):
    config = {"cohort": {"source": "brats", "brats_root": str(release), "brats_lesion_labels": [1, 3]}}
    records = cohort_records(config, tmp_path / "run")
    assert sorted(records) == ["BraTSMET00001000", "BraTSMET00002000"]
    assert (tmp_path / "run" / "cohort" / "brats_seg_labels.json").is_file()
    with pytest.raises(ValueError, match="brats_root is not set"):
        cohort_records({"cohort": {"source": "brats", "brats_root": ""}}, tmp_path / "run")

    repo = Path(__file__).resolve().parents[2]
    schema = yaml.safe_load((repo / "schemas" / "config.schema.yaml").read_text())
    demo = yaml.safe_load((repo / "config.yaml").read_text())
    assert demo["cohort"]["brats_lesion_labels"] == [1, 3]
    assert schema["properties"]["cohort"]["properties"]["brats_lesion_labels"]["default"] == [1, 3]
    demo["cohort"].update(source="brats", brats_root=str(release))
    jsonschema.validate(demo, schema)
    demo["cohort"]["brats_lesion_labels"] = [1, 5]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(demo, schema)


def test_real_case(tmp_path):
    t1c, *_ = require_realdata(*(f"{CASE}-{s}.nii.gz" for s in ("t1c", "t1n", "t2f", "t2w")))
    records = brats.discover(t1c.parents[1], cache=tmp_path / "labels.json")
    assert [r.patient_id for r in records] == ["BraTSGLI00001000"]
    record = records[0]
    assert record.lesions is None  # shipped without its segmentation
    assert record.metadata["t2w"].endswith("BraTS-GLI-00001-000-t2w.nii.gz")
    patient = ingest_into(record, tmp_path / "cohort")
    assert patient["labelled"] is False
    for seq in ("T1pre", "T1gd", "FLAIR"):
        info = patient["images"][seq]
        assert info["shape"] == [240, 240, 155] and info["spacing_mm"] == [1.0, 1.0, 1.0]
        assert info["orientation"] == "RAS"  # LPS as shipped, stored in canonical order
    t1gd = nib.load(str(ingested_files(tmp_path / "cohort", "BraTSGLI00001000")["T1gd"]))
    original = nib.load(str(record.images["T1gd"]))
    data, affine = canonical(np.asarray(original.dataobj), original.affine)
    np.testing.assert_array_equal(np.asarray(t1gd.dataobj), data)
    np.testing.assert_allclose(t1gd.affine, affine)


def _case_2018(root, name, seg=None, skip=()):
    """A case in the BraTS 2018-2021 naming: <case>_{t1,t1ce,t2,flair,seg}."""
    case = root / name
    case.mkdir(parents=True)
    rng = np.random.default_rng(len(name))
    for suffix in ("t1", "t1ce", "t2", "flair"):
        if suffix not in skip:
            _save(case / f"{name}_{suffix}.nii.gz", rng.integers(0, 1000, SHAPE).astype(np.int16))
    if seg is not None:
        _save(case / f"{name}_seg.nii.gz", seg)
    return case


def test_brats_2018_naming_and_labels(tmp_path):
    root = tmp_path / "MICCAI_BraTS_2018"
    case = _case_2018(root / "HGG", "Brats18_2013_2_1", seg=_seg((1, 2, 4)))
    _case_2018(root / "LGG", "Brats18_TCIA10_103_1", seg=_seg((1, 2, 1)))  # no enhancing tumour
    _case(root / "2023", "BraTS-MET-00001-000", seg=_seg())
    records = {r.patient_id: r for r in brats.discover(root)}
    assert sorted(records) == ["BraTSMET00001000", "Brats18201321", "Brats18TCIA101031"]
    record = records["Brats18201321"]
    assert record.images == {"T1pre": case / "Brats18_2013_2_1_t1.nii.gz", "T1gd": case / "Brats18_2013_2_1_t1ce.nii.gz", "FLAIR": case / "Brats18_2013_2_1_flair.nii.gz"}
    assert record.metadata["t2w"] == str(case / "Brats18_2013_2_1_t2.nii.gz")
    assert record.metadata["naming"] == "2018-2021" and record.metadata["label_convention"] == "2018-2021"
    assert records["BraTSMET00001000"].metadata["label_convention"] == "2023"
    # Tumour core by default in either convention: necrotic core and the enhancing tumour (4 here).
    patient = ingest_into(record, tmp_path / "cohort")
    mask = np.asarray(nib.load(str(ingested_files(tmp_path / "cohort", "Brats18201321")["lesions"])).dataobj)
    seg = _seg((1, 2, 4))
    np.testing.assert_array_equal(mask, canonical(np.isin(seg, (1, 4)).astype(np.uint8), AFFINE)[0])
    assert patient["n_lesions"] == 3  # necrotic and enhancing parts split by oedema, and the distant spot
    # Labels given in the 2023 numbering select the same regions; 4 is read as 3.
    for labels, regions in (((3,), (4,)), ((4,), (4,)), ((1, 2, 3), (1, 2, 4)), ((2,), (2,))):
        found = {r.patient_id: r for r in brats.discover(root, labels)}["Brats18201321"]
        ingest_into(found, tmp_path / f"c{labels}")
        mask = np.asarray(nib.load(str(ingested_files(tmp_path / f"c{labels}", "Brats18201321")["lesions"])).dataobj)
        np.testing.assert_array_equal(mask, canonical(np.isin(seg, regions).astype(np.uint8), AFFINE)[0])


def test_brats_2018_bad_cases_named(tmp_path):
    _case_2018(tmp_path, "Brats18_A_1", seg=_seg((1, 2, 4)), skip=("flair",))
    _case_2018(tmp_path, "Brats18_B_1", seg=_seg((1, 3, 4)))  # 3 and 4: no convention has both
    _case_2018(tmp_path, "Brats18_C_1", seg=_seg((1, 2, 4)))
    stray = tmp_path / "scans" / "patient7"
    stray.mkdir(parents=True)
    _save(stray / "T1_post.nii.gz", np.zeros(SHAPE, np.int16))
    records, problems = brats.scan(tmp_path)
    assert [r.patient_id for r in records] == ["Brats18C1"]
    by_case = {p.patient: p for p in problems}
    assert sorted(by_case) == ["Brats18_A_1", "Brats18_B_1", "patient7"]
    assert by_case["Brats18_A_1"].file.endswith("Brats18_A_1_flair.nii.gz")
    assert "flair (FLAIR) file is missing (BraTS 2018-2021 naming)" in by_case["Brats18_A_1"].problem
    assert by_case["Brats18_B_1"].file.endswith("Brats18_B_1_seg.nii.gz") and "both 3 and 4" in by_case["Brats18_B_1"].problem
    neither = by_case["patient7"]
    assert neither.file.endswith("scans/patient7") and "follow neither BraTS naming" in neither.problem
    assert "patient7_t1ce.nii.gz" in neither.problem and "patient7-t1c.nii.gz" in neither.problem
    assert "\n" not in str(neither)


def test_real_brats_2018_cases(tmp_path):
    (root,) = require_realdata("brats2018")
    records = brats.discover(root, cache=tmp_path / "labels.json")
    cases = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert len(records) == len(cases) == 8
    assert sorted(r.metadata["case"] for r in records) == cases
    for record in records:
        assert set(record.images) == {"T1pre", "T1gd", "FLAIR"} and record.metadata["t2w"].endswith("_t2.nii.gz")
        assert record.metadata["naming"] == "2018-2021" and record.metadata["label_convention"] == "2018-2021"
    record = records[0]
    patient = ingest_into(record, tmp_path / "cohort")
    seg = nib.load(str(record.lesions))
    core = np.isin(np.asarray(seg.dataobj), (1, 4))
    mask = np.asarray(nib.load(str(ingested_files(tmp_path / "cohort", record.patient_id)["lesions"])).dataobj)
    assert patient["labelled"] and mask.sum() == core.sum() > 1000
