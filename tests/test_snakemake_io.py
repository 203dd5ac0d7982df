"""Workflow scripts' glue: everything a job writes lands in its log file."""

import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

from brainmets.snakemake_io import logged, network_patients, patients_on_every_grid

SRC = Path(__file__).resolve().parents[1] / "src"


def _job(tmp_path, body: str, log: bool = True):
    """Run ``body`` inside ``logged`` in a fresh Python process, as a
    Snakemake ``script:`` job runs; its exit code, stdout, stderr, log."""
    log_path = tmp_path / "job.log"
    script = textwrap.dedent(
        f"""
        import ctypes, logging, os, subprocess, sys
        from types import SimpleNamespace
        sys.path.insert(0, {str(SRC)!r})
        from brainmets.snakemake_io import logged

        smk = SimpleNamespace(log={[str(log_path)] if log else []!r}, wildcards={{"pid": "p3"}}, input=["in.nii.gz"])
        os.write(1, b"before out\\n")
        with logged(smk) as log:
        """
    ) + textwrap.indent(textwrap.dedent(body), "    ") + textwrap.dedent(
        """
        os.write(1, b"after out\\n")
        os.write(2, b"after err\\n")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    text = log_path.read_text() if log_path.exists() else None
    return result.returncode, result.stdout, result.stderr, text


NATIVE = """
os.write(1, b"native stdout\\n")
os.write(2, b"native stderr\\n")
print("python print", flush=True)
ctypes.CDLL(None).printf(b"libc printf\\n")  # buffered in C: flushed on exit from the block
subprocess.run(["sh", "-c", "echo child stdout; echo child stderr >&2"], check=True)
log.info("a message")
"""


def test_native_output_goes_to_the_log_and_is_restored_after(tmp_path):
    code, out, err, log = _job(tmp_path, NATIVE)
    assert code == 0, err
    for line in ("native stdout", "native stderr", "python print", "libc printf", "child stdout", "child stderr", "a message"):
        assert line in log, line
    assert "native" not in out + err and "child" not in out + err and "printf" not in out
    # Messages still reach the console; the descriptors are back after the job.
    assert "INFO brainmets: a message" in err
    assert out.splitlines() == ["before out", "after out"] and err.splitlines()[-1] == "after err"
    assert "after" not in log and "before" not in log
    # Each message once, none written over another.
    assert log.count("a message") == 1 and log.count("native stderr") == 1


def test_a_failure_is_one_console_line_and_the_log_has_the_rest(tmp_path):
    code, out, err, log = _job(tmp_path, 'os.write(2, b"tool said\\n")\nraise ValueError("bad voxel")\n')
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "ERROR" in lines[0] and "patient 'p3', file in.nii.gz: ValueError: bad voxel" in lines[0]
    assert "tool said" in log and "Traceback" in log and "ValueError: bad voxel" in log
    assert "after" not in out  # the job ended


def test_without_a_log_file_nothing_is_redirected(tmp_path):
    code, out, err, log = _job(tmp_path, 'os.write(1, b"native stdout\\n")\nlog.info("a message")\n', log=False)
    assert code == 0 and log is None
    assert out.splitlines() == ["before out", "native stdout", "after out"]
    assert "a message" in err


def test_in_process_a_c_level_write_lands_in_the_log(tmp_path, capfd):
    import logging
    import os

    smk = SimpleNamespace(log=[str(tmp_path / "job.log")], wildcards={}, input=[])
    with logged(smk) as log:
        os.write(1, b"written to descriptor 1\n")
        log.info("logged")
    os.write(1, b"back on the console\n")
    logging.getLogger().handlers.clear()
    text = (tmp_path / "job.log").read_text()
    assert "written to descriptor 1" in text and "logged" in text
    assert "back on the console" in capfd.readouterr().out


class _Inputs(SimpleNamespace):
    """A rule's named input lists, reachable as attributes and by key."""

    def __getitem__(self, key):
        return getattr(self, key)


def test_network_patients_follow_the_order_of_the_ids():
    ins = _Inputs(T1gd=["a1", "b1"], BRAVO=["a2", "b2"], brain_mask=["am", "bm"], lesions=["al", "bl"])
    patients = network_patients(ins, ["a", "b"], ["T1gd", "BRAVO"], labelled=True)
    assert patients == {
        "a": {"images": {"T1gd": "a1", "BRAVO": "a2"}, "brain_mask": "am", "lesions": "al"},
        "b": {"images": {"T1gd": "b1", "BRAVO": "b2"}, "brain_mask": "bm", "lesions": "bl"},
    }
    assert "lesions" not in network_patients(ins, ["a", "b"], ["T1gd"])["a"]


def test_patients_on_every_grid_take_the_alternative_references_inputs():
    ins = _Inputs(
        BRAVO=["a0"], T1gd=["a1"], brain_mask=["am"], lesions=["al"], alt_T1gd=["t1"], alt_brain_mask=["tm"], alt_lesions=["tl"],
    )
    grids = {"sequences": ["BRAVO", "T1gd"], "alternative_reference": "T1gd", "alternative_sequences": ["T1gd"]}
    patients, on_grid = patients_on_every_grid(ins, SimpleNamespace(patients=["a"], grids=grids))
    assert patients["a"] == {"images": {"BRAVO": "a0", "T1gd": "a1"}, "brain_mask": "am", "lesions": "al"}
    assert on_grid == {"T1gd": {"a": {"images": {"T1gd": "t1"}, "brain_mask": "tm", "lesions": "tl"}}}
    alone = {**grids, "alternative_reference": None}
    assert patients_on_every_grid(ins, SimpleNamespace(patients=["a"], grids=alone)) == (patients, {})


def test_phantom_truth_from_a_rules_inputs():
    from brainmets.snakemake_io import phantom_truth

    # A rule's named inputs (Snakemake's InputFiles have the same items()).
    ins = {"T1pre": "t1.nii.gz", "truth_transforms": "x.json", "truth_brain_mask": "m.nii.gz"}
    assert phantom_truth(ins) == {"transforms": "x.json", "brain_mask": "m.nii.gz"}
    assert phantom_truth({"T1pre": "t1.nii.gz"}) is None


def test_failure_line_tells_errors_apart_by_kind_not_text():
    from brainmets.errors import CohortError, InputError, PatientError
    from brainmets.network.modelfolder import ModelFolderError
    from brainmets.snakemake_io import failure_line

    smk = SimpleNamespace(wildcards={"pid": "p3"}, input=["a.nii.gz"])
    assert failure_line(smk, InputError("p3", "a.nii.gz", "blank")) == "patient 'p3', file a.nii.gz: blank"
    assert failure_line(smk, PatientError("p3", "lacks FLAIR")) == "patient 'p3': lacks FLAIR"
    # A model file's error names the file; the job's patient is added.
    assert failure_line(smk, ModelFolderError("m/model.json", "not valid JSON")) == "patient 'p3', model file m/model.json: not valid JSON"
    # A cohort-wide job has no patient: the sheet's line is shown as it is.
    whole = SimpleNamespace(wildcards={}, input=["cohort.tsv"])
    assert failure_line(whole, CohortError("cohort sheet cohort.tsv: the file is empty")) == "cohort sheet cohort.tsv: the file is empty"
    # Any other error that happens to begin with "patient" is not taken for one that names its file.
    assert failure_line(smk, RuntimeError("patient 3: odd")) == "patient 'p3', file a.nii.gz: RuntimeError: patient 3: odd"
