"""The phantom (``phantom.generate``): its ground truth agrees with its label maps and its geometry."""

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from brainmets.lesions import connected_components, lesion_table
from brainmets.phantom.acquisition import tissue_map
from brainmets.phantom.generate import phantom_paths, plan_subgroups, simulate_patient
from brainmets.sequences import SEQUENCES, subgroup_of

from ..conftest import SEED, tiny_config


def _load(path):
    img = nib.load(str(path))
    return np.asarray(img.dataobj), img.affine


@pytest.mark.parametrize("pid", ["001", "002", "003"])
def test_lesion_table_agrees_with_label_map(tiny_patients, pid):
    meta, out = tiny_patients[pid]
    paths = phantom_paths(out, pid)
    labels, affine = _load(paths["instances"])
    table = pd.read_csv(paths["lesion_table"], sep="\t")
    recomputed = lesion_table(labels, affine)
    assert len(table) == meta["n_lesions"] == labels.max()
    np.testing.assert_allclose(table.volume_mm3, recomputed.volume_mm3, atol=1e-4)
    np.testing.assert_allclose(table.longest_diameter_mm, recomputed.longest_diameter_mm, atol=1e-4)
    voxel = abs(np.linalg.det(affine[:3, :3]))
    np.testing.assert_allclose(table.volume_mm3, table.voxels * voxel)
    # The measured diameter is close to the drawn one (within two voxels).
    spacing = np.sqrt((affine[:3, :3] ** 2).sum(0)).max()
    assert np.all(np.abs(table.longest_diameter_mm - table.nominal_diameter_mm) <= 2.5 * spacing)
    assert table.longest_diameter_mm.max() <= 40.0 + 2 * spacing


@pytest.mark.parametrize("pid", ["001", "002", "003"])
def test_lesions_are_separate_components_in_the_brain(tiny_patients, pid):
    meta, out = tiny_patients[pid]
    paths = phantom_paths(out, pid)
    labels, _ = _load(paths["instances"])
    mask, _ = _load(paths["lesions"])
    brain, _ = _load(paths["brain_mask"])
    assert set(np.unique(mask)) <= {0, 1}
    assert connected_components(mask, 26)[1] == labels.max()
    assert np.all(brain[labels > 0] == 1), "lesion voxels outside the brain mask"
    assert subgroup_of(meta["n_lesions"]) == meta["subgroup"]


def test_subgroup_proportions_follow_the_paper():
    groups = list(plan_subgroups(156, (0.41, 0.30, 0.29), SEED).values())
    counts = [groups.count(g) for g in ("1-3", "4-10", ">10")]
    assert counts == [64, 47, 45]  # the paper's cohort exactly
    small = list(plan_subgroups(10, (0.41, 0.30, 0.29), SEED).values())
    assert sorted(small.count(g) for g in ("1-3", "4-10", ">10")) == [3, 3, 4]


def test_brain_mask_volume_is_adult(tiny_patients):
    for meta, out in tiny_patients.values():
        brain, affine = _load(phantom_paths(out, meta["patient_id"])["brain_mask"])
        litres = brain.sum() * abs(np.linalg.det(affine[:3, :3])) / 1e6
        assert 0.9 < litres < 1.8


def _dice(a, b):
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def test_true_transforms_bring_each_sequence_onto_the_reference(tiny_patients):
    """Brain masks drawn on each sequence's grid, in that sequence's head
    pose, land on the reference brain mask through the saved transform."""
    meta, out = tiny_patients["002"]
    sim = simulate_patient(tiny_config(), SEED, meta["patient_index"], "002", meta["subgroup"])
    transforms = json.loads(phantom_paths(out, "002")["transforms"].read_text())
    reference_mask, ref_affine = _load(phantom_paths(out, "002")["brain_mask"])
    ref_grid = sim.grids["BRAVO"]
    ref_world = ref_grid.frame_points(ref_grid.affine)
    for seq in ("T1pre", "T1gd", "FLAIR"):
        grid = sim.grids[seq]
        brain = np.empty(grid.shape, bool)
        tissue_map(grid, sim.poses[seq], sim.head, brain)
        to_ref = np.array(transforms[seq]["matrix"])

        def sample(matrix):
            idx = (ref_world @ matrix[:3, :3].T + matrix[:3, 3]) @ np.linalg.inv(grid.affine)[:3, :3].T
            idx += np.linalg.inv(grid.affine)[:3, 3]
            idx = np.round(idx).astype(int)
            ok = np.all((idx >= 0) & (idx < grid.shape), axis=1)
            out_mask = np.zeros(len(idx), bool)
            out_mask[ok] = brain[tuple(idx[ok].T)]
            return out_mask.reshape(ref_grid.shape)

        aligned = _dice(sample(np.linalg.inv(to_ref)), reference_mask > 0)
        unaligned = _dice(sample(np.eye(4)), reference_mask > 0)
        assert aligned > 0.93, seq
        assert aligned > unaligned + 0.03, seq


def test_affines_are_not_identity_and_grids_differ(tiny_patients):
    meta, out = tiny_patients["001"]
    paths = phantom_paths(out, "001")
    codes = {}
    for seq in SEQUENCES:
        _, affine = _load(paths[seq])
        assert not np.allclose(affine[:3, :3], np.diag(np.diag(affine[:3, :3])))  # oblique
        codes[seq] = nib.aff2axcodes(affine)
    assert codes["BRAVO"] != codes["FLAIR"]
    assert meta["grids"]["FLAIR"]["spacing_mm"][2] > meta["grids"]["BRAVO"]["spacing_mm"][2]


def test_motion_within_limits(tiny_patients):
    meta, _ = tiny_patients["003"]
    for pose in meta["head_poses"].values():
        m = np.array(pose)
        angle = np.degrees(np.arccos(np.clip((np.trace(m[:3, :3]) - 1) / 2, -1, 1)))
        assert angle <= np.sqrt(3) * 8 + 1e-6
        assert np.all(np.abs(m[:3, 3]) <= 10 + 1e-9)


def test_contrast_lesions_enhance_after_gadolinium(tiny_patients):
    """Lesions are brighter than brain on post-Gd sequences, not on pre-Gd T1."""
    meta, out = tiny_patients["003"]
    paths = phantom_paths(out, "003")
    sim = simulate_patient(tiny_config(), SEED, meta["patient_index"], "003", meta["subgroup"])
    ratios = {}
    for seq in ("T1pre", "T1gd"):
        image, _ = _load(paths[seq])
        grid = sim.grids[seq]
        vox_to_head = np.linalg.inv(sim.poses[seq]) @ grid.affine
        points = grid.frame_points(vox_to_head)
        inside = np.zeros(len(points), bool)
        for lesion in sim.lesions:
            if not lesion.ring_enhancing:
                inside |= lesion.rho(points) < 0.6
        brain = np.empty(grid.shape, bool)
        tissue_map(grid, sim.poses[seq], sim.head, brain)
        ratios[seq] = image.ravel()[inside].mean() / image[brain].mean()
    assert ratios["T1gd"] > 1.2
    assert ratios["T1pre"] < 1.0


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    from brainmets.phantom.generate import generate_patient

    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        generate_patient(tiny_config(), seed, 0, "001", "4-10", phantom_paths(tmp_path / name, "001"))
    a, b, c = (phantom_paths(tmp_path / n, "001") for n in "abc")
    for key in (*SEQUENCES, "instances", "brain_mask", "lesion_table", "transforms"):
        assert a[key].read_bytes() == b[key].read_bytes(), key
    assert a["BRAVO"].read_bytes() != c["BRAVO"].read_bytes()
