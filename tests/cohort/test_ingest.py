"""One patient into the internal form: files, checksums, lesion table,
reference grid, sequences used and left out."""

import hashlib
import json
import logging

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from brainmets.lesions import LesionInstances

from brainmets.layout import ingested_files
from tests.ingested import ingest_into
from brainmets.cohort.sheet import PatientRecord
from brainmets.cohort.validate import InputError
from brainmets.lesions import LESION_COLUMNS
from brainmets.sequences import SEQUENCES

SHAPE = (12, 10, 8)
# Left-to-right voxel axis reversed (LAS), 10-12 mm voxels: a head's field of view.
LAS = np.array([[-10.0, 0, 0, 60], [0, 11.0, 0, -50], [0, 0, 12.0, -40], [0, 0, 0, 1]])
# The T1gd on a grid of its own (another shape, 5 mm off).
T1GD_SHAPE = (11, 10, 9)
T1GD = LAS + np.array([[0, 0, 0, 5.0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])


def _write(path, data, affine=LAS):
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


def _record(tmp_path, sequences=SEQUENCES, mask=None, mask_affine=LAS, dtype=np.float32):
    rng = np.random.default_rng(7)
    images = {}
    for seq in sequences:
        shape, affine = (T1GD_SHAPE, T1GD) if seq == "T1gd" else (SHAPE, LAS)
        images[seq] = _write(tmp_path / f"in_{seq}.nii.gz", (100 * rng.random(shape)).astype(dtype), affine)
    lesions = None if mask is None else _write(tmp_path / "in_mask.nii.gz", mask, mask_affine)
    return PatientRecord("p7", images, lesions, metadata={"site": "A"})


def _two_touching_lesions(shape=SHAPE):
    mask = np.zeros(shape, np.uint8)
    mask[2:4, 2:4, 2:4] = 1
    mask[4, 4, 4] = 1  # touches the first only at a corner
    return mask


def test_paths_of_the_internal_form(tmp_path):
    paths = ingested_files(tmp_path, "p7")
    base = tmp_path / "sub-p7"
    assert paths["BRAVO"] == base / "anat" / "sub-p7_BRAVO.nii.gz"
    assert paths["lesions"] == base / "anat" / "sub-p7_lesions.nii.gz"
    assert paths["lesion_table"] == base / "sub-p7_lesions.tsv"
    assert paths["patient"] == base / "sub-p7_patient.json"
    assert set(paths) == {*SEQUENCES, "lesions", "lesion_table", "patient"}


def test_images_are_written_canonical_with_their_checksums(tmp_path):
    record = _record(tmp_path, mask=_two_touching_lesions())
    patient = ingest_into(record, tmp_path / "cohort")
    paths = ingested_files(tmp_path / "cohort", "p7")
    source = nib.load(str(record.images["FLAIR"]))
    written = nib.load(str(paths["FLAIR"]))
    # Stored RAS: the reversed axis is turned round, the world is unchanged.
    assert nib.aff2axcodes(written.affine) == ("R", "A", "S")
    np.testing.assert_allclose(np.asarray(written.dataobj), np.asarray(source.dataobj)[::-1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(written.affine @ [11, 0, 0, 1], LAS @ [0, 0, 0, 1])
    summary = patient["images"]["FLAIR"]
    assert summary["sha256"] == hashlib.sha256(record.images["FLAIR"].read_bytes()).hexdigest()
    assert summary["source"] == str(record.images["FLAIR"])
    assert summary["shape"] == list(SHAPE) and summary["spacing_mm"] == [10.0, 11.0, 12.0]
    assert summary["orientation"] == "RAS"
    assert patient == json.loads(paths["patient"].read_text())
    assert patient["metadata"] == {"site": "A"} and patient["source"] == "sheet"


def test_lesion_table_counts_components_with_the_connectivity_asked_for(tmp_path):
    record = _record(tmp_path, mask=_two_touching_lesions())
    joined = ingest_into(record, tmp_path / "c26")
    apart = ingest_into(record, tmp_path / "c6", instances=LesionInstances(connectivity=6))
    assert (joined["n_lesions"], joined["subgroup"], joined["lesion_connectivity"]) == (1, "1-3", 26)
    assert (apart["n_lesions"], apart["subgroup"], apart["lesion_connectivity"]) == (2, "1-3", 6)
    table = pd.read_csv(ingested_files(tmp_path / "c6", "p7")["lesion_table"], sep="\t")
    assert list(table.columns) == LESION_COLUMNS
    assert sorted(table.voxels) == [1, 8]
    np.testing.assert_allclose(sorted(table.volume_mm3), [1320.0, 8 * 1320.0])
    mask = nib.load(str(ingested_files(tmp_path / "c6", "p7")["lesions"]))
    assert mask.get_data_dtype() == np.uint8 and int(np.asarray(mask.dataobj).sum()) == 9


def test_unlabelled_patient_has_an_empty_table(tmp_path):
    patient = ingest_into(_record(tmp_path), tmp_path / "cohort")
    paths = ingested_files(tmp_path / "cohort", "p7")
    assert patient["labelled"] is False and patient["n_lesions"] is None and patient["subgroup"] is None
    assert not paths["lesions"].exists()
    table = pd.read_csv(paths["lesion_table"], sep="\t")
    assert list(table.columns) == LESION_COLUMNS and table.empty


def test_empty_mask_is_labelled_with_no_lesions(tmp_path, caplog):
    record = _record(tmp_path, mask=np.zeros(SHAPE, np.uint8))
    with caplog.at_level(logging.WARNING):
        patient = ingest_into(record, tmp_path / "cohort")
    assert patient["labelled"] is True and patient["n_lesions"] == 0 and patient["subgroup"] == "0"
    assert "is empty" in caplog.text


def test_sequences_asked_for_and_left_out(tmp_path):
    record = _record(tmp_path, mask=_two_touching_lesions())
    patient = ingest_into(record, tmp_path / "cohort", sequences=["BRAVO", "T1gd"])
    paths = ingested_files(tmp_path / "cohort", "p7")
    assert sorted(patient["images"]) == ["BRAVO", "T1gd"]
    assert patient["sequences_not_used"] == ["T1pre", "FLAIR"]
    assert paths["T1gd"].exists() and not paths["T1pre"].exists() and not paths["FLAIR"].exists()
    assert patient["reference"] == "BRAVO"


def test_an_absent_sequence_is_named(tmp_path):
    record = _record(tmp_path, sequences=("T1pre", "T1gd", "FLAIR"))
    with pytest.raises(InputError, match="no BRAVO image given"):
        ingest_into(record, tmp_path / "cohort", sequences=["T1gd", "BRAVO"])
    assert not (tmp_path / "cohort").exists()


def test_without_a_bravo_the_mask_lies_on_the_t1gd(tmp_path):
    on_t1gd = _two_touching_lesions(T1GD_SHAPE)
    record = _record(tmp_path, sequences=("T1pre", "T1gd", "FLAIR"), mask=on_t1gd, mask_affine=T1GD)
    patient = ingest_into(record, tmp_path / "cohort")
    assert patient["reference"] == "T1gd" and patient["n_lesions"] == 1
    mask = nib.load(str(ingested_files(tmp_path / "cohort", "p7")["lesions"]))
    np.testing.assert_allclose(mask.affine, nib.load(str(ingested_files(tmp_path / "cohort", "p7")["T1gd"])).affine)
    # A mask on another sequence's grid is refused, naming the reference.
    (tmp_path / "again").mkdir()
    wrong = _record(tmp_path / "again", sequences=("T1pre", "T1gd", "FLAIR"), mask=_two_touching_lesions())
    with pytest.raises(InputError, match="T1gd"):
        ingest_into(wrong, tmp_path / "cohort2")
    # The reference may be named.
    chosen = ingest_into(_record(tmp_path / "again", mask=_two_touching_lesions()), tmp_path / "cohort3", reference="BRAVO")
    assert chosen["reference"] == "BRAVO"


@pytest.mark.parametrize("dtype,stored", [(np.float64, np.float32), (np.float32, np.float32), (np.int16, np.int16)])
def test_floating_images_are_stored_as_float32_integers_as_given(tmp_path, dtype, stored):
    ingest_into(_record(tmp_path, dtype=dtype), tmp_path / "cohort")
    assert nib.load(str(ingested_files(tmp_path / "cohort", "p7")["BRAVO"])).get_data_dtype() == stored


def test_inputs_are_left_unmodified(tmp_path):
    record = _record(tmp_path, mask=_two_touching_lesions())
    before = {p: p.read_bytes() for p in record.input_paths()}
    ingest_into(record, tmp_path / "cohort")
    assert {p: p.read_bytes() for p in record.input_paths()} == before
