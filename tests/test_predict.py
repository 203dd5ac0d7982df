"""Pieces of ``brainmets-predict`` that need no network: the maps and the
lesion table written on the patient's own grid."""

import nibabel as nib
import numpy as np
import pandas as pd

from brainmets import predict
from brainmets.geometry import rigid
from brainmets.lesions import LesionInstances
from brainmets.niio import save_nifti


def test_lesion_table_counts_lesions_as_the_training_cohort_did(tmp_path):
    """Two pieces 3 mm apart and a 1 mm^3 speck: three components, one
    lesion for a card of a real cohort (join 6 mm, at least 10 mm^3), whose
    mask leaves the speck out as its table does."""
    affine = rigid((3, -2, 5), (-40, -50, -30))
    prob = np.zeros((30, 30, 20), np.float32)
    prob[5:10, 5:10, 5:10] = 0.9
    prob[12:16, 5:10, 5:10] = 0.8
    prob[25, 25, 15] = 0.95
    save_nifti(tmp_path / "network.nii.gz", prob, affine)
    save_nifti(tmp_path / "reference.nii.gz", np.ones(prob.shape, np.float32), affine)
    outs = {}
    for name, instances in (("exact", LesionInstances()), ("reader", LesionInstances(26, 6.0, 10.0))):
        out = {"probability": tmp_path / f"{name}_prob.nii.gz", "mask": tmp_path / f"{name}_mask.nii.gz", "lesions": tmp_path / f"{name}_lesions.tsv"}
        mask, _, table = predict._write_maps(tmp_path / "network.nii.gz", tmp_path / "reference.nii.gz", 0.5, out, instances)
        outs[name] = pd.read_csv(out["lesions"], sep="\t")
        assert len(outs[name]) == len(table)
        assert mask.sum() == (125 + 100 + 1 if name == "exact" else 125 + 100)
        assert np.asarray(nib.load(str(out["mask"])).dataobj).sum() == mask.sum()
        np.testing.assert_allclose(nib.load(str(out["mask"])).affine, affine)
    assert len(outs["exact"]) == 3 and len(outs["reader"]) == 1
    assert outs["reader"].volume_mm3.iloc[0] == 225.0


def test_mask_keeps_only_pieces_that_reach_the_least_peak(tmp_path):
    """Hysteresis: a piece whose probability reaches the least peak keeps
    its voxels down to the threshold; a broad blob of middling probability
    (what a model trained on synthetic heads marks on real normal tissue)
    is left out of the mask and the table, not of the probability map."""
    affine = rigid((3, -2, 5), (-40, -50, -30))
    prob = np.zeros((30, 30, 20), np.float32)
    prob[5:10, 5:10, 5:10] = 0.6
    prob[7, 7, 7] = 0.99
    prob[15:25, 15:25, 5:15] = 0.8
    save_nifti(tmp_path / "network.nii.gz", prob, affine)
    save_nifti(tmp_path / "reference.nii.gz", np.ones(prob.shape, np.float32), affine)
    out = {"probability": tmp_path / "prob.nii.gz", "mask": tmp_path / "mask.nii.gz", "lesions": tmp_path / "lesions.tsv"}
    mask, _, table = predict._write_maps(tmp_path / "network.nii.gz", tmp_path / "reference.nii.gz", 0.5, out, LesionInstances(), 0.95)
    assert mask.sum() == 125 and mask[5:10, 5:10, 5:10].all() and len(table) == 1
    assert np.asarray(nib.load(str(out["probability"])).dataobj)[20, 20, 10] > 0.79
    mask, _, table = predict._write_maps(tmp_path / "network.nii.gz", tmp_path / "reference.nii.gz", 0.5, out, LesionInstances(), 0.0)
    assert mask.sum() == 125 + 1000 and len(table) == 2
