"""DICOM in (discovery, checks, dcm2niix) and out (SEG, RTSTRUCT), on
phantom volumes written as DICOM, an oblique sagittal FLAIR among them."""

import shutil

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
import pytest

from brainmets.dicom.convert import convert_series, frame_indices
from brainmets.dicom.export import export_lesions, pseudonym
from brainmets.dicom.mapping import map_series
from brainmets.dicom.series import DicomError, find_series
from brainmets.dicom.synthetic import new_study, write_series
from brainmets.lesions import connected_components
from brainmets.phantom.generate import phantom_paths
from brainmets.sequences import SEQUENCES

DESCRIPTIONS = {"T1pre": "Sag CUBE T1 PRE", "T1gd": "Sag CUBE T1 POST GD", "BRAVO": "Ax BRAVO POST", "FLAIR": "Sag CUBE FLAIR"}


@pytest.fixture(scope="module")
def study(tiny_patients, tmp_path_factory):
    _, out = tiny_patients["003"]
    paths = phantom_paths(out, "003")
    root = tmp_path_factory.mktemp("dicom") / "study"
    info = new_study("PH003")
    for n, seq in enumerate(SEQUENCES, start=1):
        img = nib.load(str(paths[seq]))
        write_series(np.asarray(img.dataobj), img.affine, root / seq, DESCRIPTIONS[seq], info, n)
    return root, paths, info


def test_series_are_found_and_mapped(study):
    root, _, _ = study
    series = find_series("p3", root)
    chosen, table = map_series("p3", series)
    assert {seq: s.description for seq, s in chosen.items()} == DESCRIPTIONS
    assert sorted(table.sequence) == sorted(SEQUENCES)


@pytest.mark.parametrize("seq", ["BRAVO", "FLAIR"])
def test_conversion_keeps_oblique_geometry_exactly(study, seq, tmp_path):
    root, paths, _ = study
    (series,) = find_series("p3", root / seq)
    sidecar = convert_series("p3", series, tmp_path / "out.nii.gz", tmp_path / "out.json")
    original = nib.load(str(paths[seq]))
    converted = nib.load(str(tmp_path / "out.nii.gz"))
    assert (tmp_path / "out.json").exists() and sidecar["SeriesDescription"] == DESCRIPTIONS[seq]
    # Every voxel centre of the original lands on a converted voxel centre with the same value.
    src = np.asarray(original.dataobj)
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in src.shape], indexing="ij"), -1).reshape(-1, 3)
    world = grid @ original.affine[:3, :3].T + original.affine[:3, 3]
    inv = np.linalg.inv(converted.affine)
    idx = world @ inv[:3, :3].T + inv[:3, 3]
    assert np.abs(idx - np.rint(idx)).max() < 1e-3
    idx = np.rint(idx).astype(int)
    np.testing.assert_array_equal(np.asarray(converted.dataobj)[idx[:, 0], idx[:, 1], idx[:, 2]], np.clip(np.rint(src), 0, 65535).reshape(-1))


def _copy(study, tmp_path, seq="BRAVO"):
    folder = tmp_path / seq
    shutil.copytree(study[0] / seq, folder)
    return folder


def _check(folder, match):
    with pytest.raises(DicomError, match=match) as err:
        (series,) = find_series("p9", folder)
        convert_series("p9", series, folder.parent / "x.nii.gz")
    assert "patient 'p9'" in str(err.value)
    assert not (folder.parent / "x.nii.gz").exists()


def test_folder_without_dicom(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("hello")
    _check(tmp_path / "empty", "contains no DICOM files")


def test_missing_slice(study, tmp_path):
    folder = _copy(study, tmp_path)
    sorted(folder.glob("*.dcm"))[5].unlink()
    _check(folder, "missing slice")


def test_duplicated_slice(study, tmp_path):
    folder = _copy(study, tmp_path)
    files = sorted(folder.glob("*.dcm"))
    ds = pydicom.dcmread(files[3])
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(folder / "extra.dcm")
    _check(folder, "duplicated slice position")


def test_inconsistent_spacing(study, tmp_path):
    folder = _copy(study, tmp_path)
    files = sorted(folder.glob("*.dcm"))
    for f in files[len(files) // 2 :]:
        ds = pydicom.dcmread(f)
        normal = np.cross(np.array(ds.ImageOrientationPatient[:3], float), np.array(ds.ImageOrientationPatient[3:], float))
        ds.ImagePositionPatient = [f"{v:.6f}" for v in np.array(ds.ImagePositionPatient, float) + 0.3 * normal]
        ds.save_as(f)
    _check(folder, "inconsistent slice spacing")


def test_inconsistent_orientation(study, tmp_path):
    folder = _copy(study, tmp_path)
    f = sorted(folder.glob("*.dcm"))[2]
    ds = pydicom.dcmread(f)
    ds.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]
    ds.save_as(f)
    _check(folder, "different orientations")


def test_non_mr_modality(study, tmp_path):
    folder = _copy(study, tmp_path)
    for f in folder.glob("*.dcm"):
        ds = pydicom.dcmread(f)
        ds.Modality = "CT"
        ds.save_as(f)
    _check(folder, "modality is CT, not MR")


def test_several_series_for_one_sequence(study, tmp_path):
    root = tmp_path / "study"
    shutil.copytree(study[0], root)
    for f in (root / "FLAIR").glob("*.dcm"):  # a second FLAIR series
        ds = pydicom.dcmread(f)
        ds.SeriesInstanceUID = "1.2.3.4.5"
        ds.SeriesDescription = "Ax FLAIR"
        ds.save_as(root / "T1pre" / f"copy_{f.name}")
    with pytest.raises(DicomError, match="several series match"):
        map_series("p3", find_series("p3", root))


@pytest.fixture(scope="module")
def exported(study, tmp_path_factory):
    root, paths, info = study
    out = tmp_path_factory.mktemp("export")
    bravo_files = sorted((root / "BRAVO").glob("*.dcm"))
    (series,) = find_series("p3", root / "BRAVO")
    convert_series("p3", series, out / "bravo.nii.gz")
    converted = nib.load(str(out / "bravo.nii.gz"))
    # The ground-truth lesions, moved onto the converted grid, play the prediction.
    truth = nib.load(str(paths["lesions"]))
    from brainmets.geometry import resample_to_grid

    mask = resample_to_grid(np.asarray(truth.dataobj, np.float32), truth.affine, converted.shape, converted.affine, order=0) > 0.5
    result = export_lesions(mask, converted.affine, bravo_files, out, "sub-p3", patient="p3")
    return result, mask, converted.affine, bravo_files, info


def test_seg_reads_back_voxel_exact(exported):
    result, mask, affine, bravo_files, info = exported
    seg = hd.seg.segread(result["seg"])
    source = sorted((pydicom.dcmread(f) for f in bravo_files), key=lambda ds: int(ds.InstanceNumber))
    assert seg.PatientID == info["PatientID"] and seg.StudyInstanceUID == info["StudyInstanceUID"]
    names = [s.SegmentLabel for s in seg.SegmentSequence]
    assert names == result["segments"] and names[0] == "all lesions" and len(names) == 1 + connected_components(mask)[1]
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=[str(ds.SOPInstanceUID) for ds in source], segment_numbers=[1], assert_missing_frames_are_empty=True
    )[..., 0]
    expected = np.stack([mask[i, j, k] for i, j, k in frame_indices(source, affine, mask.shape, "p3", "")])
    np.testing.assert_array_equal(pixels > 0, expected)


def test_rtstruct_contours_match_the_mask(exported):
    from rt_utils import RTStructBuilder

    result, mask, affine, bravo_files, info = exported
    with_series = result["rtstruct"].parent / "series"
    with_series.mkdir(exist_ok=True)
    for f in bravo_files:
        shutil.copy(f, with_series / f.name)
    rt = RTStructBuilder.create_from(dicom_series_path=str(with_series), rt_struct_path=str(result["rtstruct"]))
    assert rt.ds.PatientID == info["PatientID"]
    order = rt.series_data
    indices = frame_indices(order, affine, mask.shape, "p3", "")
    labels, n = connected_components(mask)
    checked = 0
    for lesion, name in zip(range(1, n + 1), result["segments"][1:]):
        expected = np.stack([labels[i, j, k] == lesion for i, j, k in indices], axis=-1)
        if expected.sum(axis=(0, 1)).max() < 5:
            continue  # lesions under 5 voxels in every slice: contours are too coarse to compare
        got = rt.get_roi_mask_by_name(name)
        dice = 2 * np.sum(got & expected) / (got.sum() + expected.sum())
        assert dice >= 0.95, (name, dice)
        checked += 1
    assert checked >= 1


def test_deidentified_export(exported, tmp_path):
    result, mask, affine, bravo_files, info = exported
    name = pseudonym(info["PatientID"], salt="site-secret")
    out = export_lesions(mask, affine, bravo_files, tmp_path, "anon", deidentify=name)
    for path in (out["seg"], out["rtstruct"]):
        ds = pydicom.dcmread(path)
        assert ds.PatientID == name and str(ds.PatientName) == name
        assert info["PatientID"] not in str(ds.PatientName) and ds.PatientID != info["PatientID"]
        assert ds.StudyInstanceUID == info["StudyInstanceUID"]  # still references the source study


def test_cohort_sheet_column_may_be_a_dicom_folder(study, tmp_path):
    from brainmets.layout import ingested_files
    from tests.ingested import ingest_into
    from brainmets.cohort.sheet import PatientRecord

    root, paths, _ = study
    images = {seq: paths[seq] for seq in SEQUENCES}
    images["FLAIR"] = root / "FLAIR"  # the oblique sagittal series, as DICOM
    record = PatientRecord("p3", images, lesions=paths["lesions"])
    patient = ingest_into(record, tmp_path)
    assert patient["images"]["FLAIR"]["dicom_sidecar"]["SeriesDescription"] == DESCRIPTIONS["FLAIR"]
    ingested = nib.load(str(ingested_files(tmp_path, "p3")["FLAIR"]))
    original = nib.load(str(paths["FLAIR"]))
    # Same voxels in the same places (dcm2niix may order the axes differently).
    probe = np.array([[3, 4, 5], [10, 2, 7]])
    world = probe @ original.affine[:3, :3].T + original.affine[:3, 3]
    inv = np.linalg.inv(ingested.affine)
    idx = np.rint(world @ inv[:3, :3].T + inv[:3, 3]).astype(int)
    np.testing.assert_allclose(
        np.asarray(ingested.dataobj)[idx[:, 0], idx[:, 1], idx[:, 2]],
        np.clip(np.rint(np.asarray(original.dataobj)[probe[:, 0], probe[:, 1], probe[:, 2]]), 0, None),
    )


def test_two_series_in_a_sequence_folder_is_an_error(study, tmp_path):
    from tests.ingested import ingest_into
    from brainmets.cohort.sheet import PatientRecord

    root, paths, _ = study
    mixed = tmp_path / "mixed"
    shutil.copytree(root / "FLAIR", mixed)
    shutil.copytree(root / "T1pre", mixed / "other")
    images = {seq: paths[seq] for seq in SEQUENCES}
    images["FLAIR"] = mixed
    with pytest.raises(DicomError, match="2 series where one is expected"):
        ingest_into(PatientRecord("p3", images, lesions=paths["lesions"]), tmp_path / "cohort")
    assert not (tmp_path / "cohort").exists()
