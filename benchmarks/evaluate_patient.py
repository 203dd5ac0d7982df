"""Evaluation of one full-size patient: ROC, Youden, voxel and lesion-wise
metrics, size analysis and BraTS-style lesion-wise Dice/HD95 of a
256x256x160 probability map with 25 lesions (the paper's >10 subgroup).

    OMP_NUM_THREADS=1 /usr/bin/time -v python benchmarks/evaluate_patient.py --repeats 5

Reports the median time of --repeats runs and, for scale, the time of a
plain sort of the brain voxels' probabilities (the floor of any ROC).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from brainmets.evaluation.metrics import EvaluationSettings, evaluate_patient


def synthetic_case(shape=(256, 256, 160), lesions: int = 25, seed: int = 0):
    rng = np.random.default_rng(seed)
    grid = np.ogrid[: shape[0], : shape[1], : shape[2]]
    centre = np.array(shape) / 2
    brain = sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, (100, 115, 70))) <= 1
    truth = np.zeros(shape, bool)
    for _ in range(lesions):
        c = centre + rng.uniform(-0.5, 0.5, 3) * np.array([140, 160, 90])
        r = rng.uniform(1.5, 12)
        truth |= sum((g - ci) ** 2 for g, ci in zip(grid, c)) <= r * r
    truth &= brain
    prob = np.clip(rng.normal(0.05, 0.05, shape) + 0.9 * truth, 0, 1).astype(np.float32)
    for _ in range(40):  # false-positive blobs
        c = centre + rng.uniform(-0.5, 0.5, 3) * np.array([140, 160, 90])
        prob[tuple(slice(int(ci) - 1, int(ci) + 2) for ci in c)] = 0.97
    affine = np.array([[0.94, 0.02, 0, -120], [-0.02, 0.94, 0.05, -110], [0, -0.04, 1.0, -80], [0, 0, 0, 1]])
    return truth, prob * brain, brain, affine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    truth, prob, brain, affine = synthetic_case()
    settings = EvaluationSettings(threshold=0.93)
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        row, lesions, fps, _ = evaluate_patient(truth, prob, brain, affine, settings)
        times.append(time.perf_counter() - t)
    sort_times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        np.sort(prob[brain])
        sort_times.append(time.perf_counter() - t)
    print(json.dumps({
        "shape": list(prob.shape),
        "brain_voxels": int(brain.sum()),
        "lesions": row["lesions"],
        "fp_components": row["fp_components"],
        "median_seconds": round(statistics.median(times), 3),
        "all_seconds": [round(t, 3) for t in times],
        "plain_sort_seconds": round(statistics.median(sort_times), 3),
        "ratio_to_plain_sort": round(statistics.median(times) / statistics.median(sort_times), 1),
        "target_seconds": 5.0,
    }, indent=2))


if __name__ == "__main__":
    main()
