"""The Snakemake workflow end to end on a tiny cohort, and its hygiene."""

import json
import shutil
import subprocess
import sys

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from brainmets.phantom.generate import phantom_paths
from brainmets.sequences import SEQUENCES

from .conftest import REPO


def snakemake(workdir, *args, check=True):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--cores", "2", *args]
    result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("run")
    snakemake(workdir, "--configfile", str(REPO / "configs/test.yaml"))
    return workdir / "results" / "test"


def test_tiny_cohort_runs_end_to_end(tiny_run):
    for pid in ("001", "002", "003"):
        anat = tiny_run / "cohort" / f"sub-{pid}" / "anat"
        for seq in SEQUENCES:
            assert (anat / f"sub-{pid}_{seq}.nii.gz").exists()
        patient = json.loads((tiny_run / "cohort" / f"sub-{pid}" / f"sub-{pid}_patient.json").read_text())
        assert patient["subgroup"] == patient["metadata"]["planned_subgroup"]
        assert (tiny_run / "logs" / "phantom" / f"sub-{pid}.log").stat().st_size > 0
        assert (tiny_run / "benchmarks" / "phantom" / f"sub-{pid}.tsv").exists()
    table1 = pd.read_csv(tiny_run / "tables" / "table1.csv")
    assert table1.set_index("characteristic").loc["Patients", "value"] == "3"
    assert "| Patients | 3 |" in (tiny_run / "tables" / "table1.md").read_text()


def test_preprocessing_outputs_and_qc(tiny_run):
    qc = pd.read_csv(tiny_run / "qc" / "preprocessing.tsv", sep="\t", dtype={"patient_id": str})
    assert qc.patient_id.tolist() == ["001", "002", "003"]
    assert set(qc.engine) <= {"python", "fsl"}
    assert qc.mask_volume_ml.between(800, 2200).all()
    # On 4 mm test grids the targets are looser than on the demo's 2 mm.
    assert (qc.mask_dice > 0.8).all()
    for seq in ("T1pre", "T1gd", "FLAIR"):
        assert (qc[f"{seq}_tre_mean_mm"] < 4.0).all()
        assert not qc[f"{seq}_flagged"].any()
    for pid in ("001", "002", "003"):
        anat = tiny_run / "preproc" / f"sub-{pid}" / "anat"
        mask = nib.load(str(anat / f"sub-{pid}_space-BRAVO_desc-brain_mask.nii.gz"))
        assert mask.shape[:2] == (64, 64)
        for seq in SEQUENCES:
            image = nib.load(str(anat / f"sub-{pid}_space-BRAVO_desc-preproc_{seq}.nii.gz"))
            data = np.asarray(image.dataobj)
            np.testing.assert_allclose(image.affine, mask.affine)
            assert data.min() >= 0 and data.max() <= 1.0 and np.all(data[np.asarray(mask.dataobj) == 0] == 0)
        lesions = np.asarray(nib.load(str(anat / f"sub-{pid}_space-BRAVO_desc-lesions_mask.nii.gz")).dataobj)
        assert lesions.any()
        for png in (f"sub-{pid}_desc-brainmask_T1pre.png", f"sub-{pid}_desc-coreg_FLAIR.png"):
            assert (tiny_run / "qc" / f"sub-{pid}" / png).stat().st_size > 5000


def test_ingested_images_equal_the_source(tiny_run):
    src = phantom_paths(tiny_run / "phantom" / "sub-002", "002")
    for seq in SEQUENCES:
        a = nib.load(str(src[seq]))
        b = nib.load(str(tiny_run / "cohort" / "sub-002" / "anat" / f"sub-002_{seq}.nii.gz"))
        np.testing.assert_array_equal(np.asarray(a.dataobj), np.asarray(b.dataobj))
        np.testing.assert_allclose(a.affine, b.affine)


def test_split_written_once(tiny_run):
    split = json.loads((tiny_run / "records" / "splits.json").read_text())
    assert split["strategy"] == "paper" and sorted(split["test"]) == ["001", "002", "003"]


def test_provenance(tiny_run):
    record = json.loads((tiny_run / "provenance.json").read_text())
    assert record["config"]["run_name"] == "test"
    assert record["seeds"]["master"] == record["config"]["seed"]
    assert record["packages"]["snakemake"] and record["packages"]["nibabel"]
    assert "commit" in record["workflow"]
    assert record["patients"] == ["001", "002", "003"]


def test_second_run_has_nothing_to_do(tiny_run):
    result = snakemake(tiny_run.parents[1], "--configfile", str(REPO / "configs/test.yaml"), "-n")
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.parametrize("configfile", ["config.yaml", "configs/paper.yaml"])
def test_whole_dag_dry_runs(tmp_path, configfile):
    result = snakemake(tmp_path, "-n", "--quiet", "rules", "--configfile", str(REPO / configfile))
    assert "phantom_patient" in result.stdout


def test_lint_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Lints for" not in result.stdout + result.stderr


def test_snakefmt_check():
    snakefmt = shutil.which("snakefmt", path=str(REPO / ".venv" / "bin")) or shutil.which("snakefmt")
    if snakefmt is None:
        pytest.skip("snakefmt is not installed (pip install -e '.[dev]')")
    result = subprocess.run([snakefmt, "--check", "."], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_patient_fails_alone_with_keep_going(tiny_patients, tmp_path):
    rows = []
    for pid, (_, out) in tiny_patients.items():
        paths = phantom_paths(out, pid)
        rows.append({"patient_id": f"p{pid}", **{s: str(paths[s]) for s in SEQUENCES}, "lesions": str(paths["lesions"])})
    broken = tmp_path / "broken_flair.nii.gz"
    img = nib.load(rows[1]["FLAIR"])
    data = np.asarray(img.dataobj).astype(np.float32)
    data[0, 0, 0] = np.nan
    nib.save(nib.Nifti1Image(data, img.affine), str(broken))
    rows[1]["FLAIR"] = str(broken)
    sheet = tmp_path / "cohort.tsv"
    pd.DataFrame(rows).to_csv(sheet, sep="\t", index=False)
    config = tmp_path / "config.yaml"
    config.write_text(f"run_name: sheet\ncohort:\n  source: sheet\n  sheet: {sheet}\n")

    targets = [f"results/sheet/cohort/sub-p{pid}/sub-p{pid}_patient.json" for pid in ("001", "002", "003")]
    result = snakemake(tmp_path, "--configfile", str(config), "--keep-going", *targets, check=False)
    assert result.returncode != 0
    cohort = tmp_path / "results" / "sheet" / "cohort"
    assert (cohort / "sub-p001" / "sub-p001_patient.json").exists()
    assert (cohort / "sub-p003" / "sub-p003_patient.json").exists()
    assert not (cohort / "sub-p002").exists()
    message = "patient 'p002', file " + str(broken) + ": 1 of"
    assert message in result.stderr
    assert message in (tmp_path / "results" / "sheet" / "logs" / "cohort" / "sub-p002.log").read_text()
