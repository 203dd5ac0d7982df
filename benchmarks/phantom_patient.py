"""Benchmark: time to simulate one synthetic patient.

    /usr/bin/time -v python benchmarks/phantom_patient.py --scale 1 --repeats 3

Reports the median wall time over repeats, and the ratio against a plain
read of the written files (the I/O floor); peak memory comes from
``/usr/bin/time -v``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from brainmets.phantom.generate import PhantomConfig, generate_patient, phantom_paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="resolution_scale (1 = paper protocol)")
    parser.add_argument("--subgroup", default=">10", choices=["1-3", "4-10", ">10"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fraction-512", type=float, default=0.0)
    args = parser.parse_args()
    cfg = PhantomConfig(resolution_scale=args.scale, fraction_512=args.fraction_512)
    times, reads = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            out = Path(tmp) / f"r{repeat}"
            start = time.perf_counter()
            meta = generate_patient(cfg, 2020, repeat, "001", args.subgroup, phantom_paths(out, "001"))
            times.append(time.perf_counter() - start)
            start = time.perf_counter()
            nbytes = sum(len(p.read_bytes()) for p in phantom_paths(out, "001").values())
            reads.append(time.perf_counter() - start)
            grids = ", ".join(f"{s} {'x'.join(map(str, g['shape']))}" for s, g in meta["grids"].items())
            print(f"repeat {repeat}: {times[-1]:.1f} s, {meta['n_lesions']} lesions, {nbytes / 1e6:.1f} MB; {grids}")
    print(f"median {statistics.median(times):.1f} s per patient (scale {args.scale}); "
          f"plain read of its files {statistics.median(reads) * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
