"""A test patient lacking the workflow's reference, preprocessed on its own
(``preprocessing.own_reference``): its T1gd grid, its lesions carried onto
the network's grid, a report naming what its QC row reads."""

import json

import nibabel as nib
import numpy as np
from scipy import ndimage

from brainmets.niio import save_nifti
from brainmets.preprocessing.own_reference import preprocess_on_own_reference

from . import synthetic_head as head


def test_a_patient_without_bravo_is_preprocessed_on_its_t1gd(tmp_path):
    images = head.write_patient(tmp_path, ("T1pre", "T1gd", "FLAIR"), pid="nb")
    # The lesions, drawn on the T1gd as a reader would draw them.
    shape, spacing, angles, _ = head.ACQUISITIONS["T1gd"]
    affine = head.grid_affine(shape, spacing, angles)
    scanner = np.indices(shape).reshape(3, -1).T.astype(float) @ affine[:3, :3].T + affine[:3, 3]
    inverse = np.linalg.inv(head.pose("T1gd"))
    lesions = (head.tissue(scanner @ inverse[:3, :3].T + inverse[:3, 3]) == 4).reshape(shape)
    save_nifti(tmp_path / "lesions.nii.gz", lesions.astype(np.uint8), affine)
    names = ("brain_mask", "lesions", "reference_image", "report")
    outputs = {name: tmp_path / "out" / f"nb_{name}{'.json' if name == 'report' else '.nii.gz'}" for name in names}
    (tmp_path / "out").mkdir()
    report = preprocess_on_own_reference("nb", images, tmp_path / "lesions.nii.gz", head.PREPROCESSING, tmp_path / "work", outputs)
    assert report == json.loads(outputs["report"].read_text())
    assert (report["reference"], report["brain_extraction_on"]) == ("T1gd", "T1pre")
    assert sorted(report["images"]) == ["FLAIR", "T1gd", "T1pre"] and all("space-T1gd" in p for p in report["images"].values())
    assert [json.loads(open(f).read())["sequence"] for f in report["reports"]["coregistration"]] == ["T1pre", "FLAIR"]
    # On the network's grid: the mask, the lesions and the reference image share one grid.
    mask, carried, reference = (nib.load(str(outputs[n])) for n in ("brain_mask", "lesions", "reference_image"))
    assert mask.shape == carried.shape == reference.shape and np.allclose(mask.affine, carried.affine)
    carried = np.asarray(carried.dataobj) > 0
    assert report["lesion_voxels"] == int(carried.sum()) > 0
    assert np.array_equal(np.asarray(reference.dataobj), np.asarray(nib.load(report["images"]["T1gd"]).dataobj))
    # Both lesions survive, inside the brain mask.
    assert ndimage.label(carried)[1] == len(head.LESIONS) and (carried & (np.asarray(mask.dataobj) > 0)).sum() == carried.sum()
