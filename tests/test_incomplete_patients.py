"""A cohort sheet whose test patients lack a sequence
(``cohort.incomplete_patients: test``): the model trains on the complete
patients and evaluates the others without what they lack, on their own
grid, at their input set's operating point (Grovik et al. 2021)."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from brainmets.cohort.sheet import PatientRecord
from brainmets.geometry import resample_to_grid
from brainmets.phantom.generate import generate_patient, phantom_paths
from brainmets.sequences import SEQUENCES
from brainmets.workflow import accepted_gaps, cohort_sequences, incomplete_patients
from tests.conftest import REPO, SEED, snakemake, tiny_config

DROPOUT = {"sequence_dropout": 0.5, "sequence_dropout_sets": [["BRAVO"], ["FLAIR"], ["BRAVO", "T1gd"]]}


def record(pid: str, sequences, lesions: bool = True) -> PatientRecord:
    return PatientRecord(pid, {seq: Path(f"{pid}_{seq}.nii.gz") for seq in sequences}, Path(f"{pid}_lesions.nii.gz") if lesions else None)


def cohort(*gaps) -> dict[str, PatientRecord]:
    """Five complete patients, then one lacking each of ``gaps``."""
    records = [record(f"c{i}", SEQUENCES) for i in range(5)]
    records += [record(f"x{i}", [seq for seq in SEQUENCES if seq not in gap]) for i, gap in enumerate(gaps)]
    return {r.patient_id: r for r in records}


def test_leaving_out_a_sequence_stays_the_default():
    records = cohort(["BRAVO"])
    assert cohort_sequences(records) == (("T1pre", "T1gd", "FLAIR"), {"BRAVO": ["x0"]})
    used, _ = cohort_sequences(records)
    assert incomplete_patients(records, used, DROPOUT) == {}


def test_patients_lacking_what_most_have_are_test_patients():
    records = cohort(["BRAVO"], ["FLAIR"], ["BRAVO", "T1gd"])
    used, left_out = cohort_sequences(records, "test")
    assert used == tuple(SEQUENCES) and left_out == {}
    assert incomplete_patients(records, used, DROPOUT) == {"x0": ("BRAVO",), "x1": ("FLAIR",), "x2": ("T1gd", "BRAVO")}
    # A sequence at most half the patients have is left out for everyone.
    few = {**{f"c{i}": record(f"c{i}", ["T1pre", "T1gd", "FLAIR"]) for i in range(3)}, "b": record("b", SEQUENCES), "d": record("d", SEQUENCES)}
    assert cohort_sequences(few, "test") == (("T1pre", "T1gd", "FLAIR"), {"BRAVO": ["c0", "c1", "c2"]})


def test_a_gap_the_model_cannot_take_names_the_patient():
    records = cohort(["T1pre"])
    used, _ = cohort_sequences(records, "test")
    with pytest.raises(ValueError, match=r"patient x0 \(sheet cohort\): lacks T1pre, which the model is not trained to do without \(training.sequence_dropout_sets"):
        incomplete_patients(records, used, DROPOUT)
    with pytest.raises(ValueError, match="lacks T1pre, .*training.sequence_dropout is 0: the model needs every input"):
        incomplete_patients(records, used, {"sequence_dropout": 0.0})
    assert incomplete_patients(records, used, {"sequence_dropout": 0.5, "sequence_dropout_max_missing": 1}) == {"x0": ("T1pre",)}
    unlabelled = {**cohort(), "u": record("u", ["T1pre", "T1gd", "FLAIR"], lesions=False)}
    with pytest.raises(ValueError, match="patient u .* lacks BRAVO and has no lesion mask"):
        incomplete_patients(unlabelled, SEQUENCES, DROPOUT)


def test_accepted_gaps_follow_the_dropout_settings():
    assert accepted_gaps(SEQUENCES, {"sequence_dropout": 0}) == set()
    assert accepted_gaps(SEQUENCES, DROPOUT) == {frozenset({"BRAVO"}), frozenset({"FLAIR"}), frozenset({"BRAVO", "T1gd"})}
    one = accepted_gaps(SEQUENCES, {"sequence_dropout": 0.2, "sequence_dropout_max_missing": 1})
    assert one == {frozenset({seq}) for seq in SEQUENCES}
    # No limit: every proper subset (15 - 1 with all four left out).
    assert len(accepted_gaps(SEQUENCES, {"sequence_dropout": 0.2})) == 14


def on_grid_of(truth: dict, seq: str) -> Path:
    """The phantom's lesion mask (on its BRAVO) carried onto ``seq``'s grid
    by the true head motion: what a site without a BRAVO would have drawn."""
    lesions, target = nib.load(str(truth["lesions"])), nib.load(str(truth[seq]))
    motion = np.array(json.loads(Path(truth["transforms"]).read_text())[seq]["matrix"])
    data = resample_to_grid(np.asarray(lesions.dataobj), lesions.affine, target.shape, target.affine, order=0, target_to_source=motion) > 0.5
    out = Path(truth[seq]).parent / f"lesions_on_{seq}.nii.gz"
    nib.save(nib.Nifti1Image(data.astype(np.uint8), target.affine), str(out))
    return out


@pytest.mark.workflow
def test_a_sheet_whose_test_patients_lack_a_sequence(tiny_run, tmp_path_factory):
    """The six phantom patients of the tiny run, and two more: x07 without
    its BRAVO (lesions drawn on its T1gd), x08 without its FLAIR."""
    root = tmp_path_factory.mktemp("incomplete")
    rows = []
    for pid in ("001", "002", "003", "004", "005", "006"):
        anat = tiny_run / "phantom" / f"sub-{pid}" / "anat"
        rows.append({"patient_id": pid, **{seq: str(anat / f"sub-{pid}_{seq}.nii.gz") for seq in SEQUENCES}, "lesions": str(anat / f"sub-{pid}_lesions.nii.gz")})
    for index, (pid, subgroup, gap) in enumerate([("x07", "4-10", "BRAVO"), ("x08", "1-3", "FLAIR")], start=6):
        files = phantom_paths(root / "phantom" / f"sub-{pid}", pid)
        generate_patient(tiny_config(), SEED, index, pid, subgroup, files)
        reference = "T1gd" if gap == "BRAVO" else "BRAVO"
        lesions = on_grid_of(files, reference) if reference != "BRAVO" else files["lesions"]
        rows.append({"patient_id": pid, **{seq: str(files[seq]) if seq != gap else "" for seq in SEQUENCES}, "lesions": str(lesions)})
    sheet = root / "cohort.tsv"
    pd.DataFrame(rows).to_csv(sheet, sep="\t", index=False)
    config = root / "incomplete.yaml"
    config.write_text(f"run_name: incomplete\ncohort:\n  source: sheet\n  sheet: {sheet}\n  incomplete_patients: test\n")
    snakemake(root, "--configfile", str(REPO / "configs/test.yaml"), str(config))
    run = root / "results" / "incomplete"

    split = json.loads((run / "records" / "splits.json").read_text())
    assert split["test_only"] == ["x07", "x08"]
    assert {"x07", "x08"} <= set(split["test"]) and not {"x07", "x08"} & set(split["train"] + split["dev"])
    # Ingest kept what each has, and x07's lesions on its T1gd.
    anat = run / "cohort" / "sub-x07" / "anat"
    assert not (anat / "sub-x07_BRAVO.nii.gz").exists() and (anat / "sub-x07_T1gd.nii.gz").exists()
    assert json.loads((run / "cohort" / "sub-x07" / "sub-x07_patient.json").read_text())["reference"] == "T1gd"

    thresholds = json.loads((run / "models" / "main" / "threshold.json").read_text())
    per_patient = pd.read_csv(run / "metrics" / "per_patient.tsv", sep="\t", dtype={"patient_id": str}).set_index("patient_id")
    assert set(per_patient.index) == set(split["test"])
    for pid, label, reference in [("x07", "without BRAVO", "T1gd"), ("x08", "without FLAIR", "BRAVO")]:
        preproc = json.loads((run / "incomplete" / "preproc" / f"sub-{pid}_desc-preprocessing.json").read_text())
        report = json.loads((run / "incomplete" / "predictions" / "main" / f"sub-{pid}_desc-inference.json").read_text())
        assert report["input_set"] == label and report["reference"] == preproc["reference"] == reference
        assert set(preproc["images"]) == set(SEQUENCES) - {label.split()[-1]}
        # Its own input set's operating point, in the report and the metrics.
        cut = thresholds["input_sets"][label]["operating_threshold"]
        assert report["threshold"] == cut and per_patient.loc[pid, "operating_threshold"] == pytest.approx(cut)
        assert per_patient.loc[pid, "input_set"] == label
        # Lesions, brain mask, reference image and map share the patient's own grid.
        grids = [run / "incomplete" / "preproc" / f"sub-{pid}_desc-{name}.nii.gz" for name in ("lesions_mask", "brain_mask", "reference_image")]
        grids = [nib.load(str(path)) for path in [*grids, run / "incomplete" / "predictions" / "main" / f"sub-{pid}_desc-lesion_probseg.nii.gz"]]
        assert len({img.shape for img in grids}) == 1 and all(np.allclose(img.affine, grids[0].affine) for img in grids)
        assert np.asarray(grids[0].dataobj).sum() == preproc["lesion_voxels"] > 0
        assert 0 < per_patient.loc[pid, "lesion_voxels"] <= preproc["lesion_voxels"]
    assert (per_patient.drop(index=["x07", "x08"]).input_set == "all given").all()
    # The preprocessing QC table has them too, each on its own reference.
    qc = pd.read_csv(run / "qc" / "preprocessing.tsv", sep="\t", dtype={"patient_id": str}).set_index("patient_id")
    assert set(qc.index) == set(split["train"] + split["dev"] + split["test"])
    assert qc.reference.to_dict() == {pid: "T1gd" if pid == "x07" else "BRAVO" for pid in qc.index}
    assert qc.loc["x07", "FLAIR_mi_gain"] > 0 and pd.isna(qc.loc["x08", "FLAIR_mi_gain"]) and qc.loc["x08", "T1gd_mi_gain"] > 0
    assert qc.loc["x07", "lesion_voxels"] == json.loads((run / "incomplete" / "preproc" / "sub-x07_desc-preprocessing.json").read_text())["lesion_voxels"]
    table1 = pd.read_csv(run / "tables" / "table1.csv").set_index("characteristic")["value"]
    assert table1["Patients"] == "8" and table1["Patients with lesion masks"] == "8"
    assert (run / "figures" / "figure4.png").stat().st_size > 0
    assert "without BRAVO" in (run / "logs" / "predictions" / "incomplete" / "main_sub-x07.log").read_text()
