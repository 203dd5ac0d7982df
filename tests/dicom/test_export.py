"""Lesions exported as DICOM-SEG and RT Structure Set (``dicom.export``),
referencing the source series, pseudonymous on request."""

import shutil

import highdicom as hd
import numpy as np
import pydicom

from brainmets.dicom.convert import frame_indices
from brainmets.dicom.export import export_lesions, pseudonym
from brainmets.lesions import connected_components


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
