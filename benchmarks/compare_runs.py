"""Two results folders of the workflow, file by file: the same bytes, or the
same once timings are left out; anything else is a difference.

    python benchmarks/compare_runs.py results/demo /elsewhere/results/demo

For checking that a change of the code left the results alone (the same
configuration, one machine, one thread count: training repeats bit for
bit there). Compressed files are compared decompressed (gzip stores a
time), Keras archives member by member. Timings are what a run cannot
repeat: wall-clock seconds, creation dates, the code's commit and folder
(provenance), the ids Keras gives objects in memory. Logs, benchmark
tables, Snakemake's own folder and TensorBoard event files (named by
time) are skipped. Exit status 1 when a file differs or is in one
folder only.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import zipfile
from pathlib import Path

import pandas as pd

SKIPPED_FOLDERS = ("logs", "benchmarks", ".snakemake", "tensorboard")
# Keys and columns that hold a time, a date or where the code ran.
TIMING_KEYS = {"seconds", "created", "date_saved", "shared_object_id", "commit", "dirty", "path"}


def _timings_dropped(value):
    if isinstance(value, dict):
        return {k: _timings_dropped(v) for k, v in value.items() if k not in TIMING_KEYS and not k.endswith("_seconds") and "seconds_" not in k}
    if isinstance(value, list):
        return [_timings_dropped(v) for v in value]
    return value


def _table_without_timings(data: bytes, sep: str) -> pd.DataFrame:
    table = pd.read_csv(io.BytesIO(data), sep=sep)
    return table.drop(columns=[c for c in table.columns if c in TIMING_KEYS or c.endswith("_seconds")])


def same_but_timings(name: str, a: bytes, b: bytes) -> bool:
    """Whether two versions of file ``name`` differ in timings only."""
    if name.endswith(".json"):
        return _timings_dropped(json.loads(a)) == _timings_dropped(json.loads(b))
    if name.endswith((".csv", ".tsv")):
        sep = "\t" if name.endswith(".tsv") else ","
        return _table_without_timings(a, sep).equals(_table_without_timings(b, sep))
    if name.endswith(".keras"):
        za, zb = zipfile.ZipFile(io.BytesIO(a)), zipfile.ZipFile(io.BytesIO(b))
        if za.namelist() != zb.namelist():
            return False
        return all(za.read(m) == zb.read(m) or same_but_timings(m, za.read(m), zb.read(m)) for m in za.namelist())
    return False


def _content(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file() and not any(s in p.relative_to(root).parts for s in SKIPPED_FOLDERS)}


def compare(a: Path, b: Path) -> dict[str, list[str]]:
    """Relative paths by verdict: identical, timings (differ in timings
    only), different, only_a, only_b."""
    fa, fb = _files(a), _files(b)
    verdicts = {"identical": [], "timings": [], "different": [], "only_a": sorted(map(str, fa - fb)), "only_b": sorted(map(str, fb - fa))}
    for rel in sorted(fa & fb):
        ca, cb = _content(a / rel), _content(b / rel)
        if ca == cb:
            verdicts["identical"].append(str(rel))
        elif same_but_timings(rel.name, ca, cb):
            verdicts["timings"].append(str(rel))
        else:
            verdicts["different"].append(str(rel))
    return verdicts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    verdicts = compare(args.a, args.b)
    print(f"{len(verdicts['identical'])} files identical, {len(verdicts['timings'])} identical but for timings, {len(verdicts['different'])} different")
    for key in ("timings", "different", "only_a", "only_b"):
        for rel in verdicts[key]:
            print(f"  {key}: {rel}")
    return 1 if verdicts["different"] or verdicts["only_a"] or verdicts["only_b"] else 0


if __name__ == "__main__":
    sys.exit(main())
