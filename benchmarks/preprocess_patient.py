"""Benchmark: preprocessing of one synthetic patient, step by step.

    python benchmarks/preprocess_patient.py --scale 1 --repeats 3

Simulates one patient at the paper's protocol (BRAVO 256x256x160, sagittal
CUBE and FLAIR), then runs brain extraction, the three registrations and
normalisation, each in a fresh process so that its own peak memory
(``ru_maxrss`` from ``wait4``) is measured. Reports the median seconds and
peak memory per step, and the accuracy of the step against ground truth.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The workflow's chain, one child process per step (as one job per rule).
STEPS = ("brain_extraction", "coregister", "normalize")


def cohort_files(work: Path) -> dict[str, Path]:
    """The ingested patient's files."""
    from brainmets.sequences import SEQUENCES

    folder = work / "cohort"
    return {**{seq: folder / f"{seq}.nii.gz" for seq in SEQUENCES}, **{n: folder / f"{n}{ext}" for n, ext in (("lesions", ".nii.gz"), ("lesion_table", ".tsv"), ("patient", ".json"))}}


def run_step(step: str, work: Path) -> None:
    from brainmets.layout import PreprocessingFiles
    from brainmets.phantom.generate import phantom_paths
    from brainmets.preprocessing import pipeline
    from brainmets.preprocessing.settings import PreprocessingSettings
    from brainmets.sequences import SEQUENCES, patient_grid

    cohort = cohort_files(work)
    settings = PreprocessingSettings.from_config(json.loads((work / "settings.json").read_text()))
    images = {seq: cohort[seq] for seq in SEQUENCES}
    # The phantom's ground truth, for the accuracy of each step.
    truth = {k: v for k, v in phantom_paths(work / "phantom" / "sub-001", "001").items() if k in ("transforms", "brain_mask")}
    grid = patient_grid(images, settings.reference)
    files = PreprocessingFiles.bids(work / "preproc", work / "qc", "001", *grid)
    report = pipeline.run_step(step, "001", images, files, settings, grid, truth=truth)
    if step == "coregister":  # one report per sequence: keep the worst
        report = max(report.values(), key=lambda r: r.get("tre_max_mm") or 0.0)
    (work / f"{step}.json").write_text(json.dumps(report, default=str))


def timed_child(step: str, work: Path) -> tuple[float, float]:
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, "--step", step, "--work", str(work)])
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"step {step} failed")
    return time.perf_counter() - start, usage.ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args()
    if args.step:
        run_step(args.step, args.work)
        return

    import yaml

    from brainmets.cohort.ingest import ingest_patient
    from brainmets.phantom.generate import PhantomConfig, generate_patient, phantom_paths
    from brainmets.workflow import phantom_records

    config = yaml.safe_load((Path(__file__).parents[1] / "config.yaml").read_text())
    config["phantom"].update(n_patients=1, resolution_scale=args.scale, fraction_512=0.0)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        generate_patient(PhantomConfig.from_dict(config["phantom"]), 2020, 0, "001", "4-10", phantom_paths(work / "phantom" / "sub-001", "001"))
        phantom = phantom_paths(work / "phantom" / "sub-001", "001")
        ingest_patient(phantom_records(config, lambda pid: phantom)[0], cohort_files(work))
        config["preprocessing"]["inplane_size"] = int(round(256 / args.scale))
        (work / "settings.json").write_text(json.dumps(config["preprocessing"]))
        results = {step: [] for step in STEPS}
        for _ in range(args.repeats):
            for step in STEPS:
                results[step].append(timed_child(step, work))
        total = 0.0
        for step in STEPS:
            seconds = statistics.median(t for t, _ in results[step])
            peak = max(m for _, m in results[step])
            report = json.loads((work / f"{step}.json").read_text())
            accuracy = {k: round(v, 3) for k, v in report.items() if k in ("mask_dice", "tre_mean_mm", "tre_max_mm", "mask_volume_ml")}
            print(f"{step:18s} median {seconds:6.1f} s   peak {peak:7.0f} MiB   {accuracy}")
            total += seconds
        print(f"{'patient total':18s} median {total:6.1f} s (sum of step medians, scale {args.scale})")


if __name__ == "__main__":
    main()
