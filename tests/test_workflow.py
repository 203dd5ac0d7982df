"""The Snakemake workflow end to end on a tiny cohort, and its hygiene."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import yaml

from brainmets.cohort.header import canonical
from brainmets.phantom.generate import phantom_paths
from brainmets.sequences import SEQUENCES
from brainmets.workflow import jobs_import_from

from .conftest import REPO, TINY, require_realdata, snakemake


def test_tiny_cohort_runs_end_to_end(tiny_run):
    for pid in TINY:
        anat = tiny_run / "cohort" / f"sub-{pid}" / "anat"
        for seq in SEQUENCES:
            assert (anat / f"sub-{pid}_{seq}.nii.gz").exists()
        patient = json.loads((tiny_run / "cohort" / f"sub-{pid}" / f"sub-{pid}_patient.json").read_text())
        assert patient["subgroup"] == patient["metadata"]["planned_subgroup"]
        assert (tiny_run / "logs" / "phantom" / f"sub-{pid}.log").stat().st_size > 0
        assert (tiny_run / "benchmarks" / "phantom" / f"sub-{pid}.tsv").exists()
    table1 = pd.read_csv(tiny_run / "tables" / "table1.csv")
    assert table1.set_index("characteristic").loc["Patients", "value"] == "6"
    assert "| Patients | 6 |" in (tiny_run / "tables" / "table1.md").read_text()


def test_preprocessing_outputs_and_qc(tiny_run):
    qc = pd.read_csv(tiny_run / "qc" / "preprocessing.tsv", sep="\t", dtype={"patient_id": str})
    assert qc.patient_id.tolist() == list(TINY)
    assert set(qc.engine) <= {"python", "fsl"}
    assert qc.mask_volume_ml.between(800, 2200).all()
    assert (qc.lesion_voxels > 0).all() and (qc.lesion_voxels_outside_mask >= 0).all()
    # On 4 mm test grids the targets are looser than on the demo's 2 mm.
    assert (qc.mask_dice > 0.8).all()
    for seq in ("T1pre", "T1gd", "FLAIR"):
        assert (qc[f"{seq}_tre_mean_mm"] < 4.0).all()
        assert (qc[f"{seq}_registration"] == "passed").all()
    for pid in TINY:
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
        # The same voxels in the world, stored in canonical voxel order.
        data, affine = canonical(np.asarray(a.dataobj), a.affine)
        np.testing.assert_array_equal(data, np.asarray(b.dataobj))
        np.testing.assert_allclose(affine, b.affine)


def test_training_resumed_after_the_kill(tiny_run):
    state_at_kill = json.loads((tiny_run.parents[1] / "state_at_kill.json").read_text())
    assert 1 <= state_at_kill["epoch"] < 3
    log = (tiny_run / "logs" / "models" / "main_train.log").read_text()
    assert f"resuming from epoch-{state_at_kill['epoch']:03d}.keras" in log
    card = json.loads((tiny_run / "models" / "main" / "model.json").read_text())
    assert card["resumed_from_epoch"] == state_at_kill["epoch"] and card["epochs"] == 3
    history = pd.read_csv(tiny_run / "models" / "main" / "history.csv")
    assert history.epoch.tolist() == [1, 2, 3]  # the epochs before the kill are kept
    assert np.isfinite(history[["loss", "val_loss", "dice", "val_dice"]].to_numpy()).all()
    assert "epoch 3/3 step" in log  # progress in the log


def test_records_of_training_patients(tiny_run):
    split = json.loads((tiny_run / "records" / "splits.json").read_text())
    for pid in split["train"] + split["dev"]:
        index = json.loads((tiny_run / "records" / f"sub-{pid}_slices.json").read_text())
        assert index["sequences"] == list(SEQUENCES) and index["height"] == index["width"] == 64
        assert 0 < index["lesion_examples"] == len(index["lesion_slices"]) < index["examples"]
    card = json.loads((tiny_run / "models" / "main" / "model.json").read_text())
    assert card["channels"] == 28 and card["crop"] == 32 and "records' content" in card["training_inputs"]
    for pid in split["test"]:
        assert not (tiny_run / "records" / f"sub-{pid}_slices.tfrecord.gz").exists()


def test_probability_maps_on_the_network_grid(tiny_run):
    split = json.loads((tiny_run / "records" / "splits.json").read_text())
    for pid in split["test"] + split["dev"]:
        prob = nib.load(str(tiny_run / "predictions" / "main" / f"sub-{pid}_space-BRAVO_desc-lesion_probseg.nii.gz"))
        mask = nib.load(str(tiny_run / "preproc" / f"sub-{pid}" / "anat" / f"sub-{pid}_space-BRAVO_desc-brain_mask.nii.gz"))
        data = np.asarray(prob.dataobj)
        assert prob.shape == mask.shape and np.allclose(prob.affine, mask.affine)
        assert not np.allclose(prob.affine, np.diag(np.diag(prob.affine)))  # oblique, not identity
        assert data.min() >= 0 and data.max() <= 1 and np.all(data[np.asarray(mask.dataobj) == 0] == 0)
    threshold = json.loads((tiny_run / "models" / "main" / "threshold.json").read_text())
    assert 0 < threshold["operating_threshold"] < 1 and set(threshold["dev_patients"]) == set(split["dev"])
    assert threshold["operating_point"] == "froc" and threshold["candidates"]["froc"]["threshold"] == threshold["operating_threshold"]


def test_metrics_tables_and_figures(tiny_run):
    per_patient = pd.read_csv(tiny_run / "metrics" / "per_patient.tsv", sep="\t", dtype={"patient_id": str})
    split = json.loads((tiny_run / "records" / "splits.json").read_text())
    assert sorted(per_patient.patient_id) == sorted(split["test"])
    assert set(per_patient.subgroup) == {"1-3", "4-10", ">10"}
    assert per_patient.auc.between(0, 1).all()
    lesions = pd.read_csv(tiny_run / "metrics" / "lesions.tsv", sep="\t", dtype={"patient_id": str})
    real = lesions[lesions.kind == "lesion"]
    assert real.groupby("patient_id").size().to_dict() == per_patient.set_index("patient_id").lesions.to_dict()
    for name in ("table3a", "table3b", "table3c", "table4a", "table4b", "table4c", "lesionwise", "bootstrap", "operating_points", "dev_froc"):
        assert (tiny_run / "tables" / f"{name}.csv").stat().st_size > 0
        assert "|---" in (tiny_run / "tables" / f"{name}.md").read_text()
    comparison = (tiny_run / "tables" / "paper_comparison.md").read_text()
    assert "not a reproduction" in comparison and "- network width: 0.125 (paper: 1.0)" in comparison
    # Each mean beside its 95% bootstrap interval and the patients it rests on.
    dice_all = next(line for line in comparison.splitlines() if line.startswith("| 3B | Dice | All |"))
    assert " to " in dice_all and dice_all.rstrip().endswith(f"| {len(per_patient)} |")
    for name in ("figure2", "figure3", "figure4", "figure5", "figure6", "training_curves"):
        assert (tiny_run / "figures" / f"{name}.png").stat().st_size > 10000
        assert (tiny_run / "figures" / f"{name}.pdf").read_bytes()[:4] == b"%PDF"


def test_figures_and_tables_regenerate_alone(tiny_run):
    workdir = tiny_run.parents[1]
    prediction = next((tiny_run / "predictions" / "main").glob("*.nii.gz"))
    before = prediction.stat().st_mtime_ns
    shutil.rmtree(tiny_run / "figures")
    for table in (tiny_run / "tables").glob("table3*"):
        table.unlink()
    result = snakemake(workdir, "figures_and_tables", "--configfile", str(REPO / "configs/test.yaml"))
    jobs = result.stdout + result.stderr
    assert "make_figures" in jobs and "make_tables" in jobs
    assert "rule train" not in jobs and "rule infer" not in jobs and "rule evaluate_patient" not in jobs
    assert (tiny_run / "figures" / "figure3.png").exists() and (tiny_run / "tables" / "table3a.md").exists()
    # The dropout model's ablation figure too, from its saved rows alone.
    assert (tiny_run / "figures" / "ablation.png").exists() and "rule sequence_ablation" not in jobs
    assert prediction.stat().st_mtime_ns == before


def test_html_report(tiny_run):
    workdir = tiny_run.parents[1]
    snakemake(workdir, "--configfile", str(REPO / "configs/test.yaml"), "--report", "report.html")
    html = (workdir / "report.html").read_text(errors="replace")
    assert len(html) > 100_000
    for name in ("figure3.png", "table3a", "preprocessing.tsv", "provenance.json"):
        assert name in html


def test_predict_command_on_a_new_patient(tiny_run, tmp_path):
    raw = phantom_paths(tiny_run / "phantom" / "sub-002", "002")
    model = tiny_run / "models" / "main"
    args = [f"--{s.lower()}={raw[s]}" for s in SEQUENCES]
    result = subprocess.run([sys.executable, "-m", "brainmets.predict", *args, f"--model={model}", f"--out={tmp_path}", "--id=new1"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    bravo = nib.load(str(raw["BRAVO"]))
    prob = nib.load(str(tmp_path / "sub-new1_space-BRAVO_desc-lesion_probseg.nii.gz"))
    mask = nib.load(str(tmp_path / "sub-new1_space-BRAVO_desc-lesion_mask.nii.gz"))
    assert prob.shape == mask.shape == bravo.shape
    np.testing.assert_allclose(prob.affine, bravo.affine, atol=1e-5)
    p = np.asarray(prob.dataobj)
    assert p.min() >= 0 and p.max() <= 1
    report = json.loads((tmp_path / "sub-new1_desc-predict.json").read_text())
    # A synthetic-cohort model says so, in the log and in the report.
    assert "never seen a real scan" in result.stderr and "never seen a real scan" in report["model_training_cohort"]["warning"]
    threshold = json.loads((model / "threshold.json").read_text())["operating_threshold"]
    assert report["threshold"] == threshold and report["test_time_mirroring"] == []  # the default: one pass
    np.testing.assert_array_equal(np.asarray(mask.dataobj) > 0, p >= threshold)
    table = pd.read_csv(tmp_path / "sub-new1_desc-lesions.tsv", sep="\t")
    assert list(table.columns) == ["lesion_id", "volume_mm3", "longest_diameter_mm", "centroid_x_mm", "centroid_y_mm", "centroid_z_mm"]
    assert len(table) == report["lesions"]


def test_predict_on_a_patient_aligned_on_one_grid(tiny_run, tmp_path):
    """Sequences that arrive already aligned on the BRAVO's grid (as BraTS
    ships them) pass every check of brainmets-predict."""
    from .aligned_phantom import write_aligned

    aligned = write_aligned(phantom_paths(tiny_run / "phantom" / "sub-002", "002"), tmp_path / "aligned", "002")
    args = [f"--{s.lower()}={aligned[s]}" for s in SEQUENCES]
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "brainmets.predict", *args, f"--model={tiny_run / 'models' / 'main'}", f"--out={out}", "--id=aligned2"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for seq in ("T1pre", "T1gd", "FLAIR"):
        report = json.loads((out / "work" / "preproc" / "sub-aligned2" / "xfm" / f"sub-aligned2_from-{seq}_to-BRAVO_desc-metrics.json").read_text())
        assert report["registration"] == "passed" and report["problem"] is None, report


@pytest.mark.parametrize(
    "change, message",
    [
        ("missing_flair", "FLAIR missing, but model"),
        ("bad_bravo", "not a readable NIfTI image"),
        ("no_model", "model.json: missing"),
        ("wrong_card", "the network takes 28 channels, its card says 20"),
    ],
)
def test_predict_command_errors(tiny_run, tmp_path, change, message):
    raw = phantom_paths(tiny_run / "phantom" / "sub-002", "002")
    images = {s: str(raw[s]) for s in SEQUENCES}
    model = tiny_run / "models" / "main"
    if change == "missing_flair":
        # The tiny run trains with sequence dropout: its card, without it.
        del images["FLAIR"]
        model = tmp_path / "model"
        shutil.copytree(tiny_run / "models" / "main", model, ignore=shutil.ignore_patterns("checkpoints", "tensorboard"))
        card = json.loads((model / "model.json").read_text())
        (model / "model.json").write_text(json.dumps({**card, "sequence_dropout": 0.0, "accepted_missing": []}))
    elif change == "bad_bravo":
        images["BRAVO"] = str(tmp_path / "bravo.nii.gz")
        (tmp_path / "bravo.nii.gz").write_bytes(b"not an image")
    elif change == "no_model":
        model = tmp_path
    elif change == "wrong_card":
        model = tmp_path / "model"
        shutil.copytree(tiny_run / "models" / "main", model, ignore=shutil.ignore_patterns("checkpoints", "tensorboard"))
        card = json.loads((model / "model.json").read_text())
        (model / "model.json").write_text(json.dumps({**card, "channels": 20}))
    args = [f"--{s.lower()}={p}" for s, p in images.items()]
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "brainmets.predict", *args, f"--model={model}", f"--out={out}", "--id=x1"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    assert message in result.stderr
    if change != "wrong_card":
        assert "x1" in result.stderr or change == "no_model"
    assert not (out / "sub-x1_space-BRAVO_desc-lesion_probseg.nii.gz").exists()


def test_sequence_ablation_target(tiny_run):
    workdir = tiny_run.parents[1]
    result = snakemake(workdir, "ablation", "--configfile", str(REPO / "configs/test.yaml"))
    assert "rule train" not in result.stdout + result.stderr
    split = json.loads((tiny_run / "records" / "splits.json").read_text())
    rows = pd.read_csv(tiny_run / "metrics" / "ablation" / "main.tsv", sep="\t", dtype={"patient_id": str})
    assert sorted(set(rows.patient_id)) == sorted(split["test"]) and len(rows) == 6 * len(split["test"])
    assert rows.auc.between(0, 1).all()
    # The set without BRAVO on the T1gd grid, from the test patients preprocessed
    # on the T1gd (as brainmets-predict would); the others on the BRAVO grid.
    grids = rows.groupby("input_set").grid.unique().to_dict()
    assert {label: list(g) for label, g in grids.items()} == {
        label: ["T1gd" if label == "without BRAVO" else "BRAVO"] for label in grids
    }
    for pid in split["test"]:
        anat = tiny_run / "preproc" / f"sub-{pid}" / "anat"
        t1gd_grid = nib.load(str(anat / f"sub-{pid}_space-T1gd_desc-brain_mask.nii.gz"))
        bravo_grid = nib.load(str(anat / f"sub-{pid}_space-BRAVO_desc-brain_mask.nii.gz"))
        assert not np.allclose(t1gd_grid.affine, bravo_grid.affine, atol=1e-3)
        assert not list(anat.glob("*space-T1gd_desc-preproc_BRAVO*"))
        assert (tiny_run / "logs" / "preproc" / f"sub-{pid}_alternative_reference.log").exists()
    table = (tiny_run / "tables" / "ablation.md").read_text()
    assert "| without BRAVO and T1gd |" in table and "0.795" in table  # the 2021 paper's Dice without BRAVO
    assert "95% bootstrap interval" in table and re.search(r"\| \d\.\d{3} \[\d\.\d{3} to \d\.\d{3}\] \|", table)
    # Each input set at the operating point chosen for it on the dev patients.
    thresholds = json.loads((tiny_run / "models" / "main" / "threshold.json").read_text())
    assert set(thresholds["input_sets"]) == set(rows.input_set) - {"all given"}
    used = rows.groupby("input_set").threshold.first()
    assert used["all given"] == pytest.approx(thresholds["operating_threshold"])
    for label, point in thresholds["input_sets"].items():
        assert used[label] == pytest.approx(point["operating_threshold"]) and point["operating_point"] == "froc"
        assert point["grid"] == ("T1gd" if label == "without BRAVO" else "BRAVO")
    assert (tiny_run / "figures" / "ablation.png").stat().st_size > 10_000


def test_predict_without_bravo_on_the_post_contrast_grid(tiny_run, tmp_path):
    raw = phantom_paths(tiny_run / "phantom" / "sub-002", "002")
    model = tiny_run / "models" / "main"
    args = [f"--t1pre={raw['T1pre']}", f"--t1gd={raw['T1gd']}", f"--flair={raw['FLAIR']}"]
    result = subprocess.run([sys.executable, "-m", "brainmets.predict", *args, f"--model={model}", f"--out={tmp_path}", "--id=nobravo"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    t1gd = nib.load(str(raw["T1gd"]))
    prob = nib.load(str(tmp_path / "sub-nobravo_space-T1gd_desc-lesion_probseg.nii.gz"))
    assert prob.shape == t1gd.shape and np.allclose(prob.affine, t1gd.affine, atol=1e-5)
    report = json.loads((tmp_path / "sub-nobravo_desc-predict.json").read_text())
    assert report["reference"] == "T1gd" and report["missing_sequences"] == ["BRAVO"]
    # Cut at the operating point chosen without BRAVO, and named.
    thresholds = json.loads((model / "threshold.json").read_text())
    assert report["threshold"] == pytest.approx(thresholds["input_sets"]["without BRAVO"]["operating_threshold"])
    assert report["threshold_chosen_as"] == "operating point of the input set 'without BRAVO'"


def test_split_written_once(tiny_run):
    split = json.loads((tiny_run / "records" / "splits.json").read_text())
    assert split["strategy"] == "paper" and len(split["test"]) == 3
    assert sorted(split["train"] + split["dev"] + split["test"]) == list(TINY)
    assert split["models"]["main"]["test"] == split["test"]


def test_provenance(tiny_run):
    record = json.loads((tiny_run / "provenance.json").read_text())
    assert record["config"]["run_name"] == "test"
    assert record["seeds"]["master"] == record["config"]["seed"]
    assert record["packages"]["snakemake"] and record["packages"]["nibabel"]
    assert "commit" in record["workflow"]
    assert record["patients"] == list(TINY)


def test_changed_normalization_retrains_from_scratch(tiny_run, tmp_path):
    """A finished model must not be reused after its inputs changed: the
    rerun discards the checkpoints, says why, and trains on the new records."""
    workdir = tmp_path / "run"
    shutil.copytree(tiny_run.parents[1], workdir, symlinks=True)
    run = workdir / "results" / "test"
    model = "results/test/models/main/model.json"
    # The target first: --config takes every value after it.
    snakemake(workdir, model, "--configfile", str(REPO / "configs/test.yaml"), "--config", "preprocessing={normalization: zscore}")
    log = (run / "logs" / "models" / "main_train.log").read_text()
    assert "discarding the checkpoints" in log and "preprocessing settings changed" in log and "records' content changed" in log
    card = json.loads((run / "models" / "main" / "model.json").read_text())
    assert card["resumed_from_epoch"] == 0 and card["preprocessing"]["normalization"] == "zscore" and card["image_dtype"] == "float16"
    assert pd.read_csv(run / "models" / "main" / "history.csv").epoch.tolist() == [1, 2, 3]


def test_second_run_has_nothing_to_do(tiny_run):
    result = snakemake(tiny_run.parents[1], "--configfile", str(REPO / "configs/test.yaml"), "-n")
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.parametrize("configfile", ["config.yaml", "configs/paper.yaml"])
def test_whole_dag_dry_runs(tmp_path, configfile):
    result = snakemake(tmp_path, "-n", "--quiet", "rules", "--configfile", str(REPO / configfile))
    assert "phantom_patient" in result.stdout


@pytest.mark.parametrize("layered", [[], ["configs/brats2018_finetune.yaml"], ["configs/brats2018_scratch.yaml"]])
def test_real_cohort_config_dry_runs(tmp_path, layered):
    """configs/brats2018.yaml on the eight shared BraTS 2018 cases, alone and
    with the fine-tuning or its baseline layered on: every case read, three
    folds."""
    (root,) = require_realdata("brats2018")
    configs = [str(REPO / "configs/brats2018.yaml"), *(str(REPO / c) for c in layered)]
    result = snakemake(tmp_path, "-n", "--configfile", *configs, "--config", f"cohort={{brats_root: {root}}}")
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout, re.MULTILINE))
    assert jobs["ingest_labelled_patient"] == jobs["normalize"] == "8" and jobs["splits"] == "1"
    run_name = re.search(r"^run_name: (\w+)$", Path(configs[-1]).read_text(), re.MULTILINE).group(1)
    assert f"results/{run_name}/splits" in result.stdout or f"results/{run_name}/records/splits.json" in result.stdout


HEAVY = ("ants", "matplotlib", "tensorflow", "keras")
WITHOUT_HEAVY = (
    "import sys; [sys.modules.__setitem__(m, None) for m in %r]; "
    "from snakemake.cli import main; sys.argv = ['snakemake'] + sys.argv[1:]; main()" % (HEAVY,)
)


@pytest.mark.parametrize("args", [["-n", "--cores", "1"], ["--lint"]])
def test_dag_builds_without_the_heavy_libraries(tmp_path, args):
    """Dry runs and lint on a login node: the workflow's own Python imports
    no ANTs, matplotlib or TensorFlow (the jobs' scripts do)."""
    cmd = [sys.executable, "-c", WITHOUT_HEAVY, "-s", str(REPO / "Snakefile"), "--configfile", str(REPO / "config.yaml"), *args]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "halted; None in sys.modules" not in result.stdout + result.stderr


def test_scripts_import_the_package_as_any_program():
    """The Snakefile puts the source tree on every job's PYTHONPATH; no
    script edits its own import path."""
    edits = [p.name for p in (REPO / "workflow_scripts").glob("*.py") if "sys.path" in p.read_text()]
    assert edits == []
    assert 'jobs_import_from(f"{workflow.basedir}/src")' in (REPO / "Snakefile").read_text()


def test_jobs_import_the_package_from_the_source_tree(monkeypatch, tmp_path):
    """A job's Python without the package installed (no site-packages: as in
    a rule's conda environment) finds it through the inherited PYTHONPATH."""
    src = str(REPO / "src")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["/elsewhere", src]))
    jobs_import_from(src)
    assert os.environ["PYTHONPATH"].split(os.pathsep) == [src, "/elsewhere"]
    found = subprocess.run(
        [sys.executable, "-S", "-c", "import brainmets; print(brainmets.__file__)"], cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ)
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(REPO / "src" / "brainmets" / "__init__.py")


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


def test_swapped_patient_fails_registration_alone_with_keep_going(tiny_patients, tmp_path):
    """p001's T1gd taken from p002: after its co-registration the blocks
    still need several millimetres to match (7.9 mm on these 4 mm
    phantoms, limit 4 mm). The QC table lists p001 as failed with the
    reason, the other patients are preprocessed, and the run ends non-zero
    with one line naming patient, file and shift. p003 arrives as BraTS
    ships its cases, every sequence already aligned on its BRAVO's grid:
    a registration that starts right and stays right passes every check."""
    from .aligned_phantom import write_aligned

    rows = []
    for pid, (_, out) in tiny_patients.items():
        paths = phantom_paths(out, pid)
        rows.append({"patient_id": f"p{pid}", **{s: str(paths[s]) for s in SEQUENCES}})
    rows[0]["T1gd"] = rows[1]["T1gd"]
    aligned = write_aligned(phantom_paths(tiny_patients["003"][1], "003"), tmp_path / "aligned", "003")
    rows[2].update({s: str(aligned[s]) for s in SEQUENCES})
    sheet = tmp_path / "cohort.tsv"
    pd.DataFrame(rows).to_csv(sheet, sep="\t", index=False)
    config = tmp_path / "config.yaml"
    # The gate's defaults (the schema's), as for real heads.
    config.write_text(f"run_name: sheet\ncohort:\n  source: sheet\n  sheet: {sheet}\n")
    run = tmp_path / "results" / "sheet"
    preprocessed = "preproc/sub-p{0}/anat/sub-p{0}_space-BRAVO_desc-preproc_T1gd.nii.gz"
    targets = ["results/sheet/qc/preprocessing.tsv", *(f"results/sheet/{preprocessed.format(p)}" for p in ("001", "002", "003"))]
    result = snakemake(tmp_path, "--configfile", str(config), "--keep-going", *targets, check=False)
    assert result.returncode != 0
    assert (run / preprocessed.format("002")).exists() and (run / preprocessed.format("003")).exists()
    assert not (run / preprocessed.format("001")).exists()
    qc = pd.read_csv(run / "qc" / "preprocessing.tsv", sep="\t").set_index("patient_id")
    assert qc.status.to_dict() == {"p001": "failed", "p002": "passed", "p003": "passed"}
    assert qc.T1gd_registration.to_dict() == {"p001": "failed", "p002": "passed", "p003": "passed"}
    assert qc.loc["p001", "problem"].startswith("registration: T1gd: after rigid registration its blocks still need a median local shift of")
    assert qc.problem.isna()[["p002", "p003"]].all()
    # Aligned on arrival: nothing to gain, nothing refused.
    for seq in ("T1pre", "T1gd", "FLAIR"):
        assert qc.loc["p003", f"{seq}_registration"] == "passed" and qc.loc["p003", f"{seq}_residual_shift_mm"] < 4.0
        assert abs(qc.loc["p003", f"{seq}_mi_gain"]) < 0.02
    # The failed patient's row keeps what was measured before the gate.
    assert (qc.mask_volume_ml > 800).all() and (qc.loc[["p001", "p002"], "T1gd_mi_gain"] > 0).all()
    verdict = json.loads((run / "preproc" / "sub-p001" / "xfm" / "sub-p001_desc-registration.json").read_text())
    shift = verdict["sequences"]["T1gd"]
    assert verdict["registration"] == "failed" and shift["residual_shift_mm"] > 4.0 and shift["file"] == rows[1]["T1gd"]
    message = (
        f"patient 'p001', file {rows[1]['T1gd']}: T1gd registration onto the BRAVO is implausible: "
        f"after rigid registration its blocks still need a median local shift of {shift['residual_shift_mm']:.1f} mm to match (limit 4.0 mm"
    )
    lines = [line for line in result.stderr.splitlines() if message in line]
    assert len(lines) == 1, result.stderr[-3000:]
    assert "is it another patient's image?" in lines[0]
    assert "Traceback" in (run / "logs" / "preproc" / "sub-p001_registration_gate.log").read_text()
    assert "T1gd registration onto the BRAVO is implausible (failed)" in (run / "logs" / "preproc" / "sub-p001_coregister.log").read_text()
    # The report of what could run carries the same table.
    snakemake(tmp_path, "--configfile", str(config), "--report", "report.html", targets[0])
    html = (tmp_path / "report.html").read_text()
    embedded = re.findall(r"data:text/tab-separated-values[^,]*base64,([A-Za-z0-9+/=]+)", html)
    assert any("p001\tfailed\tregistration: T1gd: after rigid registration" in base64.b64decode(t).decode() for t in embedded)


def test_predict_from_a_dicom_study_writes_seg_and_rtstruct(tiny_run, tmp_path):
    import highdicom as hd
    import pydicom

    from brainmets.dicom.convert import frame_indices
    from brainmets.dicom.synthetic import new_study, write_series

    raw = phantom_paths(tiny_run / "phantom" / "sub-003", "003")
    study = new_study("PH003")
    descriptions = {"T1pre": "Sag CUBE T1 PRE", "T1gd": "Sag CUBE T1 POST GD", "BRAVO": "Ax BRAVO POST", "FLAIR": "Sag CUBE FLAIR"}
    for n, seq in enumerate(SEQUENCES, start=1):
        img = nib.load(str(raw[seq]))
        write_series(np.asarray(img.dataobj), img.affine, tmp_path / "study" / f"s{n}", descriptions[seq], study, n)
    out = tmp_path / "out"
    model = tiny_run / "models" / "main"
    cmd = [sys.executable, "-m", "brainmets.predict", f"--dicom-study={tmp_path / 'study'}", f"--model={model}", f"--out={out}", "--id=d3", "--threshold=1e-6"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    series_table = pd.read_csv(out / "sub-d3_desc-series.tsv", sep="\t")
    assert sorted(series_table.sequence) == sorted(SEQUENCES)
    report = json.loads((out / "sub-d3_desc-predict.json").read_text())
    mask_img = nib.load(str(out / "sub-d3_space-BRAVO_desc-lesion_mask.nii.gz"))
    mask = np.asarray(mask_img.dataobj) > 0
    assert (out / "sub-d3_rtstruct.dcm").exists()
    rt = pydicom.dcmread(out / "sub-d3_rtstruct.dcm")
    assert rt.StudyInstanceUID == study["StudyInstanceUID"] and rt.PatientID == "PH003"
    # A threshold just above zero marks the whole brain: a mask that cannot be empty.
    assert mask.any()
    seg = hd.seg.segread(out / "sub-d3_seg.dcm")
    source = sorted((pydicom.dcmread(f) for f in (tmp_path / "study" / "s3").glob("*.dcm")), key=lambda ds: int(ds.InstanceNumber))
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=[str(ds.SOPInstanceUID) for ds in source], segment_numbers=[1], assert_missing_frames_are_empty=True
    )[..., 0]
    expected = np.stack([mask[i, j, k] for i, j, k in frame_indices(source, mask_img.affine, mask.shape, "d3", "")])
    np.testing.assert_array_equal(pixels > 0, expected)
    assert len(report["dicom_outputs"]["segments"]) == 1 + report["lesions"]


@pytest.fixture(scope="module")
def brats_run(tiny_run, tmp_path_factory):
    """The workflow on a BraTS-layout release without BRAVO: the tiny run's
    preprocessed T1pre, T1gd and FLAIR (skull-stripped, on one grid) as
    t1n, t1c and t2f, its lesions as enhancing tumour (label 3)."""
    workdir = tmp_path_factory.mktemp("brats_run")
    release = workdir / "release"
    for i, pid in enumerate(TINY, start=1):
        case = f"BraTS-MET-{i:05d}-000"
        folder = release / case
        folder.mkdir(parents=True)
        anat = tiny_run / "preproc" / f"sub-{pid}" / "anat"
        for suffix, seq in (("t1n", "T1pre"), ("t1c", "T1gd"), ("t2f", "FLAIR"), ("t2w", "FLAIR")):
            shutil.copy(anat / f"sub-{pid}_space-BRAVO_desc-preproc_{seq}.nii.gz", folder / f"{case}-{suffix}.nii.gz")
        lesions = nib.load(str(anat / f"sub-{pid}_space-BRAVO_desc-lesions_mask.nii.gz"))
        seg = (np.asarray(lesions.dataobj) > 0).astype(np.uint8) * 3
        nib.save(nib.Nifti1Image(seg, lesions.affine), str(folder / f"{case}-seg.nii.gz"))
    config = yaml.safe_load((REPO / "configs" / "test.yaml").read_text())
    config.update(run_name="brats", cohort={"source": "brats", "brats_root": str(release)}, split={"strategy": "kfold", "k": 2, "min_dev_patients": 1})
    (workdir / "brats.yaml").write_text(yaml.safe_dump(config))
    snakemake(workdir, "all", "ablation", "--configfile", "brats.yaml")
    return workdir / "results" / "brats"


def test_cohort_without_bravo_runs_on_the_post_contrast_t1(brats_run):
    """No BRAVO: the post-Gd T1 is the reference grid, the network gets the
    three sequences the cohort has, stripped inputs skip brain extraction."""
    pids = sorted(p.name[4:] for p in (brats_run / "cohort").glob("sub-*"))
    assert len(pids) == len(TINY)
    for pid in pids:
        patient = json.loads((brats_run / "cohort" / f"sub-{pid}" / f"sub-{pid}_patient.json").read_text())
        assert patient["reference"] == "T1gd" and sorted(patient["images"]) == ["FLAIR", "T1gd", "T1pre"]
        anat = brats_run / "preproc" / f"sub-{pid}" / "anat"
        assert (anat / f"sub-{pid}_space-T1gd_desc-preproc_FLAIR.nii.gz").exists()
        assert not list(anat.glob("*BRAVO*"))
    qc = pd.read_csv(brats_run / "qc" / "preprocessing.tsv", sep="\t", dtype={"patient_id": str})
    assert qc.engine.str.startswith("given (skull-stripped input").all()
    for fold in ("fold1", "fold2"):
        card = json.loads((brats_run / "models" / fold / "model.json").read_text())
        assert card["sequences"] == ["T1pre", "T1gd", "FLAIR"] and card["channels"] == 21
        assert list((brats_run / "predictions" / fold).glob("sub-*_space-T1gd_desc-lesion_probseg.nii.gz"))
    per_patient = pd.read_csv(brats_run / "metrics" / "per_patient.tsv", sep="\t")
    assert len(per_patient) == len(TINY) and per_patient.auc.between(0, 1).all()
    ablation = pd.read_csv(brats_run / "tables" / "ablation.csv")
    assert list(ablation["input set"]) == ["all given", "without T1pre", "without T1gd", "without FLAIR"]


def test_predict_leaves_out_a_sequence_the_model_never_saw(brats_run, tmp_path):
    """A model trained without BRAVO given one: predicts from the others, on the T1gd grid."""
    case = next((brats_run.parents[1] / "release").glob("BraTS-MET-*"))
    files = {suffix: case / f"{case.name}-{suffix}.nii.gz" for suffix in ("t1n", "t1c", "t2f")}
    args = [f"--t1pre={files['t1n']}", f"--t1gd={files['t1c']}", f"--flair={files['t2f']}", f"--bravo={files['t1c']}"]
    command = [sys.executable, "-m", "brainmets.predict", *args, f"--model={brats_run / 'models' / 'fold1'}", f"--out={tmp_path}", "--id=b1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "sub-b1_desc-predict.json").read_text())
    assert report["unused_sequences"] == ["BRAVO"] and report["missing_sequences"] == [] and report["reference"] == "T1gd"
    assert (tmp_path / "sub-b1_space-T1gd_desc-lesion_probseg.nii.gz").exists()
