"""The BrainMetShare reader, on fake releases in the published layouts."""

import nibabel as nib
import numpy as np
import pytest
from PIL import Image

from brainmets.cohort import brainmetshare
from brainmets.layout import ingested_files
from tests.ingested import ingest_into

SHAPE = (16, 12, 6)  # rows, columns, slices


def _volume(seed):
    return np.random.default_rng(seed).integers(0, 255, SHAPE).astype(np.uint8)


def _write_slices(folder, volume):
    folder.mkdir(parents=True)
    for k in range(volume.shape[2]):
        # Unpadded numbers: sorting must be numeric, not by name.
        Image.fromarray(volume[:, :, k]).save(folder / f"{k}.png")


def _fake_case(root, name, labelled=True):
    case = root / name
    for folder, seed in zip("0123", range(4)):
        _write_slices(case / folder, _volume(seed))
    if labelled:
        seg = np.zeros(SHAPE, np.uint8)
        seg[4:7, 3:6, 2:4] = 255
        seg[12, 9, 5] = 255
        _write_slices(case / "seg", seg)
    return case


@pytest.fixture
def release(tmp_path):
    root = tmp_path / "BrainMetShare"
    _fake_case(root / "mets_stanford_release_train", "Mets_005")
    _fake_case(root / "mets_stanford_release_test", "Mets_200", labelled=False)
    _fake_case(root / "stanford_release_brainmask" / "mets_stanford_releaseMask_train", "Mets_010")
    return root


def test_discovers_both_folder_spellings_and_marks_unlabelled(release):
    records = {r.patient_id: r for r in brainmetshare.discover(release)}
    assert sorted(records) == ["Mets005", "Mets010", "Mets200"]
    assert records["Mets200"].lesions is None
    assert records["Mets200"].metadata["release_split"] == "test"
    assert records["Mets005"].images["BRAVO"].name == "0"
    assert records["Mets005"].images["FLAIR"].name == "3"


def test_slices_become_volume_with_documented_geometry(release):
    data, affine = brainmetshare.read_slice_folder("Mets005", release / "mets_stanford_release_train/Mets_005/0")
    expected = _volume(0)
    assert data.shape == (SHAPE[1], SHAPE[0], SHAPE[2])
    # Voxel (column, row, slice) holds pixel (row, column) of that slice file.
    assert data[3, 7, 4] == expected[7, 3, 4]
    assert nib.aff2axcodes(affine) == ("L", "P", "S")
    np.testing.assert_allclose(np.sqrt((affine[:3, :3] ** 2).sum(0)), [0.94, 0.94, 1.0])


def test_ingest_converts_mask_and_counts_lesions(release, tmp_path):
    records = {r.patient_id: r for r in brainmetshare.discover(release)}
    patient = ingest_into(records["Mets005"], tmp_path / "cohort")
    assert patient["labelled"] and patient["n_lesions"] == 2 and patient["subgroup"] == "1-3"
    mask = np.asarray(nib.load(str(ingested_files(tmp_path / "cohort", "Mets005")["lesions"])).dataobj)
    assert set(np.unique(mask)) == {0, 1}
    unlabelled = ingest_into(records["Mets200"], tmp_path / "cohort")
    assert unlabelled["labelled"] is False and unlabelled["n_lesions"] is None


def test_nifti_mirror(tmp_path):
    case = tmp_path / "mirror" / "Mets_042"
    case.mkdir(parents=True)
    affine = np.diag([15.04, 15.04, 16.0, 1])  # a head-sized field of view in 8x8x4 voxels
    for stem in ("bravo", "t1_pre", "t1_gd", "flair"):
        image = np.random.default_rng(len(stem)).random((8, 8, 4)).astype(np.float32)
        nib.save(nib.Nifti1Image(image, affine), str(case / f"{stem}.nii"))
    seg = np.zeros((8, 8, 4), np.uint8)
    seg[2:4, 2:4, 1:3] = 255
    nib.save(nib.Nifti1Image(seg, affine), str(case / "seg.nii"))
    (record,) = brainmetshare.discover(tmp_path / "mirror")
    assert record.metadata["layout"] == "nifti"
    assert ingest_into(record, tmp_path / "cohort")["n_lesions"] == 1


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no BrainMetShare case folders"):
        brainmetshare.discover(tmp_path)
