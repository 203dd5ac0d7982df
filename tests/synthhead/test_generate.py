"""Synthetic patients on real anatomy (``brainmets.synthhead``): the same
files as the phantom, truth that agrees with the images, and every drawn
aspect of the acquisition varying between patients."""

import hashlib
import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from brainmets.lesions import lesion_table
from brainmets.phantom.generate import generate_patient, phantom_paths
from brainmets.sequences import SEQUENCES
from brainmets.synthhead import template as template_module

from ..conftest import SEED, tiny_config

SUBGROUPS = {"001": "1-3", "002": "4-10", "003": ">10", "004": "1-3", "005": "4-10", "006": "1-3"}


def _config():
    return tiny_config(anatomy="mni152", lesion_diameter_min_mm=6.0)


@pytest.fixture(scope="module")
def patients(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthhead")
    out = {}
    for index, (pid, subgroup) in enumerate(SUBGROUPS.items()):
        folder = root / f"sub-{pid}"
        out[pid] = (generate_patient(_config(), SEED, index, pid, subgroup, phantom_paths(folder, pid)), folder)
    return out


def _load(path):
    img = nib.load(str(path))
    return np.asarray(img.dataobj), img.affine


def test_writes_every_file_the_phantom_writes(patients):
    meta, folder = patients["002"]
    paths = phantom_paths(folder, "002")
    assert all(p.is_file() for p in paths.values())
    assert meta["anatomy"] == "mni152"
    affines = [_load(paths[seq])[1] for seq in SEQUENCES]
    # One grid for every sequence, tilted in the scanner (not the identity).
    for affine in affines[1:]:
        np.testing.assert_allclose(affine, affines[0])
    assert not np.allclose(affines[0][:3, :3], np.diag(np.diag(affines[0][:3, :3])))
    transforms = json.loads(paths["transforms"].read_text())
    assert all(np.allclose(t["matrix"], np.eye(4)) for t in transforms.values())


@pytest.mark.parametrize("pid", list(SUBGROUPS))
def test_truth_agrees_with_the_label_map(patients, pid):
    meta, folder = patients[pid]
    paths = phantom_paths(folder, pid)
    instances, affine = _load(paths["instances"])
    brain, _ = _load(paths["brain_mask"])
    table = pd.read_csv(paths["lesion_table"], sep="\t")
    assert len(table) == meta["n_lesions"] == instances.max() == len(meta["lesions"])
    lo, hi = {"1-3": (1, 3), "4-10": (4, 10), ">10": (11, 16)}[SUBGROUPS[pid]]
    assert lo <= len(table) <= hi
    np.testing.assert_allclose(table.volume_mm3, lesion_table(instances, affine).volume_mm3)
    for lesion_id in range(1, instances.max() + 1):
        _, pieces = ndimage.label(instances == lesion_id, structure=np.ones((3, 3, 3)))
        assert pieces == 1, f"lesion {lesion_id} in {pieces} pieces"
    assert np.all(brain[instances > 0] == 1)
    # An adult brain with its CSF (about 1.1-1.8 L).
    volume_ml = brain.sum() * abs(np.linalg.det(affine[:3, :3])) / 1000
    assert 900 < volume_ml < 2000


def test_enhancing_tumour_gains_signal_after_contrast(patients):
    meta, folder = patients["003"]
    paths = phantom_paths(folder, "003")
    instances, _ = _load(paths["instances"])
    brain, _ = _load(paths["brain_mask"])
    t1gd, t1pre = _load(paths["T1gd"])[0].astype(float), _load(paths["T1pre"])[0].astype(float)
    enhancing = [les["lesion_id"] for les in meta["lesions"] if les["kind"] in ("solid", "ring", "necrotic")]
    tumour = np.isin(instances, enhancing)
    parenchyma = (brain == 1) & (instances == 0)
    # Relative to the brain, enhancing tumour gains signal after gadolinium
    # (diluted at 4 mm by partial volume and necrotic cores).
    gain = np.median(t1gd[tumour]) / np.median(t1gd[parenchyma]) - np.median(t1pre[tumour]) / np.median(t1pre[parenchyma])
    assert gain > 0.1


def test_same_seed_same_bytes_and_other_patients_differ(patients, tmp_path):
    meta, folder = patients["001"]
    again = tmp_path / "sub-001"
    generate_patient(_config(), SEED, 0, "001", "1-3", phantom_paths(again, "001"))
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    for key, path in phantom_paths(folder, "001").items():
        assert digest(path) == digest(phantom_paths(again, "001")[key]), key
    # What is drawn per patient differs between patients.
    contrasts = {json.dumps(m["contrast"]) for m, _ in patients.values()}
    shapes = {m["acquisition"]["FLAIR"]["noise_sigma"] for m, _ in patients.values()}
    assert len(contrasts) == len(patients) and len(shapes) == len(patients)
    assert {m["skull_on"] for m, _ in patients.values()} == {True, False}


def test_missing_templates_are_named(monkeypatch):
    template_module.load_template.cache_clear()
    monkeypatch.setattr(template_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match="nilearn"):
        template_module.load_template()
    template_module.load_template.cache_clear()


def test_skull_stripped_heads_are_zero_outside_the_brain_and_others_are_not(patients):
    for pid, (meta, folder) in patients.items():
        paths = phantom_paths(folder, pid)
        brain, _ = _load(paths["brain_mask"])
        flair, _ = _load(paths["FLAIR"])
        far = ~ndimage.binary_dilation(brain == 1, iterations=2)
        if meta["skull_on"]:
            assert np.mean(flair[far] > 0) > 0.5, pid  # scalp, and noise in the air
        else:
            assert np.all(flair[far] == 0), pid


def test_phantom_command_writes_patients_on_real_anatomy(tmp_path):
    from brainmets.phantom import cli

    cli.main(["--out", str(tmp_path), "--patients", "2", "--scale", "4", "--anatomy", "mni152", "--only", "002"])
    meta = json.loads((tmp_path / "sub-002" / "sub-002_phantom.json").read_text())
    assert meta["anatomy"] == "mni152" and meta["patient_id"] == "002"
    assert not (tmp_path / "sub-001").exists()


def test_mixed_cores_hold_enhancing_necrotic_and_non_enhancing_patches():
    from brainmets.synthhead.head import draw_head
    from brainmets.synthhead.template import load_template
    from brainmets.synthhead.tumours import paint_tumours, place_tumours

    rng = np.random.default_rng(SEED)
    head = draw_head(rng, load_template(), spacing_mm=2.0, skull_probability=0.0)
    tumours = place_tumours(rng, head, np.array([30.0, 24.0, 6.0]), min_gap_mm=5.0, mixed_share=1.0)
    # Every tumour of 10 mm and more is mixed; the small one never is.
    assert [t.kind for t in tumours[:2]] == ["mixed", "mixed"] and tumours[2].kind != "mixed"
    maps = paint_tumours(rng, head, tumours)
    for t in tumours[:2]:
        core = maps.instances == t.lesion_id
        enhancing, necrotic = maps.enhancing[core].mean(), maps.necrotic[core].mean()
        assert 0.02 < enhancing < 0.5 and 0.05 < necrotic < 0.7, (enhancing, necrotic)
        assert 1.0 - enhancing - necrotic > 0.1  # non-enhancing tumour between the patches
        # Patches, not a ring: some enhancing voxels lie deep inside the core.
        depth = ndimage.distance_transform_edt(core)
        assert (maps.enhancing[core & (depth > 2)] > 0.5).any()


def test_no_mixed_share_draws_the_cohort_drawn_before_it_existed():
    from brainmets.synthhead.tumours import _kind

    draws = [np.random.default_rng(s) for s in range(200)]
    kinds = [_kind(rng, 20.0, mixed_share=0.0) for rng in draws]
    assert "mixed" not in kinds
    # The same uniform picks the same kind as the four large kinds alone did.
    from brainmets.synthhead.tumours import LARGE_KINDS

    names, p = zip(*LARGE_KINDS)
    before = [str(names[np.random.default_rng(s).choice(len(names), p=np.asarray(p) / sum(p))]) for s in range(200)]
    assert kinds == before
