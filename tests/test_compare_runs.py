"""benchmarks/compare_runs.py: two results folders, the same bytes, the same
but for timings, or different."""

import gzip
import io
import json
import sys
import zipfile

from .conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import compare_runs  # noqa: E402


def _write(root, name, data: bytes):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _keras(config: dict, weights: bytes, saved: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3", "date_saved": saved}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights)
    return buffer.getvalue()


def test_timings_are_told_apart_from_results(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for root, seconds, mtime in ((a, 1.5, 1), (b, 7.25, 2)):
        _write(root, "run/metrics/p1.json", json.dumps({"dice": 0.8, "seconds": seconds, "training_seconds_this_run": seconds}).encode())
        _write(root, "run/metrics/per_patient.tsv", f"patient_id\tdice\tseconds\np1\t0.8\t{seconds}\n".encode())
        _write(root, "run/preproc/mask.nii.gz", gzip.compress(b"voxels", mtime=mtime))
        _write(root, "run/models/m/model.keras", _keras({"layer": 1, "shared_object_id": mtime}, b"weights", f"day {mtime}"))
        _write(root, "run/logs/job.log", f"took {seconds} s".encode())
    _write(a, "run/tables/t.csv", b"set,dice\nall,0.80\n")
    _write(b, "run/tables/t.csv", b"set,dice\nall,0.81\n")
    _write(b, "run/tables/extra.md", b"new")
    verdicts = compare_runs.compare(a, b)
    assert verdicts["identical"] == ["run/preproc/mask.nii.gz"]  # gzip's stored time aside
    assert verdicts["timings"] == ["run/metrics/p1.json", "run/metrics/per_patient.tsv", "run/models/m/model.keras"]
    assert verdicts["different"] == ["run/tables/t.csv"] and verdicts["only_b"] == ["run/tables/extra.md"] and not verdicts["only_a"]
    assert compare_runs.main([str(a), str(b)]) == 1
    _write(b, "run/models/m/model.keras", _keras({"layer": 1}, b"other weights", "day 3"))
    assert "run/models/m/model.keras" in compare_runs.compare(a, b)["different"]
