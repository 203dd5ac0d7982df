"""Benchmark: training throughput from TFRecords under any Keras backend.

    KERAS_BACKEND=jax python benchmarks/train_throughput.py --precision mixed_bfloat16   # one GPU, the paper's protocol
    python benchmarks/train_throughput.py --size 64 --width 0.125 --batch 8 --patients 4 --slices 40 --steps 20   # 2-core CPU

Trains the paper's network (--width 1: full width) at --size x --size with
batches of --batch (the paper: 32), fed exactly as the workflow feeds it:
TFRecord shards -> ``SliceBank`` -> ``BalancedSampler`` -> ``loader``
threads -> uint8 batches -> the training network, which scales them on the
device. The records are those of --records (a workflow run's
``records/`` folder, e.g. of the phantom cohort at ``configs/paper.yaml``'s
resolution 1), or else --patients synthetic patients of --slices slices
written to a temporary folder: four equalized-looking sequences inside an
ellipsoidal brain with spherical lesions, so about as many lesion slices as
the phantom. Their content does not change the arithmetic.

Measured in one process, after a warm-up whose first step (compilation) is
timed on its own:

* matrix-product TFLOP/s of --matmul-size square matrices in the compute
  dtype (bfloat16 under mixed_bfloat16): the machine's own reference;
* the loader alone: batches/s it makes with nothing consuming them;
* the step alone: steps/s of ``train_on_batch`` on one batch already made;
* end to end: ``fit`` from the loader for --steps steps; steps/s, the share
  of that time the step waited for a batch, and TFLOP/s counting a step as
  3x the forward FLOPs of its examples;
* whole-volume inference: seconds for --slices slices in batches of --batch
  (the paper's network alone, float32 input, as ``predict_volume`` feeds it);
* ten paper epochs: the paper's ~22,000 training slices per epoch at the
  end-to-end rate.

Repeats: --repeats timings of each, medians printed. The last line is

    backend=... steps_per_s=... data_wait=... tflop_per_s=... matmul_tflop_per_s=... ten_epochs_min=... inference_s=...

Peak memory: run under /usr/bin/time -v.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PAPER_TRAINING_SLICES = 22_000  # about 100 training patients x ~220 slices


def synthetic_records(folder: Path, patients: int, size: int, slices: int, seed: int) -> list[Path]:
    """Records of synthetic preprocessed patients (see the module's text)."""
    from brainmets.geometry import rigid
    from brainmets.network.records import write_patient_records
    from brainmets.niio import save_nifti
    from brainmets.sequences import SEQUENCES

    rng = np.random.default_rng(seed)
    affine = rigid((0.05, 0.0, -0.1), (-120.0, -120.0, -80.0))
    z, y, x = np.mgrid[:slices, :size, :size].astype(np.float32)
    z, y, x = (z - slices / 2) / (slices * 0.45), (y - size / 2) / (size * 0.4), (x - size / 2) / (size * 0.35)
    brain = ((x**2 + y**2 + z**2) < 1).transpose(2, 1, 0).astype(np.uint8)  # (X, Y, Z)
    indices = []
    for p in range(patients):
        pid = f"bench{p:03d}"
        lesions = np.zeros_like(brain)
        centres = np.argwhere(brain)[rng.integers(0, int(brain.sum()), 4)]
        grid = np.indices(brain.shape, sparse=True)
        for c, r in zip(centres, rng.uniform(2, 6, len(centres))):
            lesions |= (sum((g - ci) ** 2 for g, ci in zip(grid, c)) < r**2).astype(np.uint8)
        files = {}
        for s, seq in enumerate(SEQUENCES):
            image = rng.integers(1, 256, brain.shape).astype(np.float32) / 255.0
            image[lesions > 0] = 1.0 - 0.05 * s
            files[seq] = folder / f"{pid}_{seq}.nii"  # uncompressed: quicker to write
            save_nifti(files[seq], image * brain, affine)
        save_nifti(folder / f"{pid}_mask.nii.gz", brain, affine)
        save_nifti(folder / f"{pid}_lesions.nii.gz", lesions, affine)
        out = {"shard": folder / "records" / f"{pid}.tfrecord.gz", "index": folder / "records" / f"{pid}.json"}
        write_patient_records(pid, files, folder / f"{pid}_mask.nii.gz", folder / f"{pid}_lesions.nii.gz", out, "histogram_equalization")
        for f in list(files.values()):
            f.unlink()
        indices.append(out["index"])
    return indices


def sync(ops, x):
    """Wait for the device: a scalar of ``x`` back on the host."""
    return float(ops.convert_to_numpy(ops.sum(ops.cast(x, "float32"))))


def matmul_tflops(keras, n: int, dtype: str, repeats: int) -> float:
    from keras import ops

    a = ops.convert_to_tensor(np.random.default_rng(0).random((n, n), np.float32), dtype=dtype)
    b = ops.convert_to_tensor(np.random.default_rng(1).random((n, n), np.float32), dtype=dtype)
    sync(ops, ops.matmul(a, b))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        c = a
        for _ in range(4):  # chained, so the device cannot skip any
            c = ops.matmul(c, b) * 1e-4
        sync(ops, c)
        times.append((time.perf_counter() - t) / 4)
    return 2 * n**3 / statistics.median(times) / 1e12


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["tensorflow", "jax", "torch"], help="default: KERAS_BACKEND, else tensorflow")
    parser.add_argument("--records", type=Path, help="a workflow run's records/ folder (else synthetic patients)")
    parser.add_argument("--patients", type=int, default=40)
    parser.add_argument("--slices", type=int, default=160)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=100, help="timed end-to-end steps per repeat")
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16", "mixed_float16"])
    parser.add_argument("--workers", type=int, help="loader threads (default: the cores this process may use, at most 16)")
    parser.add_argument("--matmul-size", type=int, default=0, help="default: 8192 on a GPU, 2048 on a CPU")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend

    import keras

    from brainmets.network import dataset, loader
    from brainmets.network.devices import accelerator_count, cache_compilations
    from brainmets.network.model import build_model, compile_model, forward_flops
    from brainmets.network.records import read_index
    from brainmets.network.slicebank import SliceBank
    from brainmets.network.train import training_network

    keras.mixed_precision.set_global_policy(args.precision)
    cache_compilations()  # as training does: a second run shows the cached compile
    gpus = accelerator_count()
    compute_dtype = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}[args.precision]
    n = args.matmul_size or (8192 if gpus else 2048)
    matmul = matmul_tflops(keras, n, compute_dtype, args.repeats)

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        paths = sorted(args.records.glob("sub-*_slices.json")) if args.records else synthetic_records(Path(tmp), args.patients, args.size, args.slices, 0)
        records_s = time.perf_counter() - t
        t = time.perf_counter()
        bank = SliceBank([read_index(p) for p in paths], context=3)
        bank_s = time.perf_counter() - t
    sampler = dataset.BalancedSampler(bank, args.batch, 0.5, seed=1, augment=True)
    h, w = bank.shape

    # The loader alone.
    batches = loader.training_batches(sampler, 0, args.workers)
    next(batches)
    rates = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        for _ in range(args.steps):
            next(batches)
        rates.append(args.steps / (time.perf_counter() - t))
    workers = batches.workers
    batches.close()
    loader_bps = statistics.median(rates)

    settings = dict(learning_rate=1e-4, beta_1=0.9, beta_2=0.999, positive_weight=10.0)
    model = compile_model(training_network(build_model(bank.channels, args.width), bank.image_dtype.name), settings)
    flops = forward_flops(build_model(bank.channels, args.width, input_size=h)) * (h * w) / (h * h)

    # Compilation, then the step alone on one ready batch.
    x, y = sampler.batch(0)
    t = time.perf_counter()
    model.train_on_batch(x, y)
    compile_s = time.perf_counter() - t
    for _ in range(args.warmup_steps):
        model.train_on_batch(x, y)
    step_rates = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        for _ in range(max(5, args.steps // 4)):
            loss = model.train_on_batch(x, y)
        np.asarray(loss)  # waits for the last step
        step_rates.append(max(5, args.steps // 4) / (time.perf_counter() - t))
    step_alone = statistics.median(step_rates)

    # End to end from the loader, as training runs (fit compiles its own step once).
    batches = loader.training_batches(sampler, 1000, args.workers)
    fit_rates, waits = [], []
    stream = loader.as_generator(batches)
    model.fit(stream, epochs=1, steps_per_epoch=max(2, args.warmup_steps), verbose=0)
    for repeat in range(args.repeats):
        waited = batches.waited_seconds
        t = time.perf_counter()
        model.fit(stream, epochs=1, steps_per_epoch=args.steps, verbose=0)
        elapsed = time.perf_counter() - t
        fit_rates.append(args.steps / elapsed)
        waits.append((batches.waited_seconds - waited) / elapsed)
    batches.close()
    steps_per_s = statistics.median(fit_rates)
    data_wait = statistics.median(waits)

    # Whole-volume inference with the paper's network alone.
    network = model.get_layer("grovik_googlenet")
    volume = np.random.default_rng(2).random((args.slices, h, w, bank.channels), np.float32)
    network.predict_on_batch(volume[: args.batch])
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        for start in range(0, args.slices, args.batch):
            out = network.predict_on_batch(volume[start : start + args.batch])
        np.asarray(out)
        times.append(time.perf_counter() - t)
    inference_s = statistics.median(times)

    tflops = 3 * flops * args.batch * steps_per_s / 1e12
    steps_ten_epochs = 10 * math.ceil(PAPER_TRAINING_SLICES / args.batch)
    result = {
        "backend": keras.backend.backend(),
        "accelerators": gpus,
        "precision": args.precision,
        "size": h,
        "width": args.width,
        "batch": args.batch,
        "patients": len(paths),
        "slices_in_memory": int(len(bank.centres)),
        "records_seconds": round(records_s, 1),
        "bank_seconds": round(bank_s, 1),
        "loader_workers": workers,
        "loader_batches_per_s": round(loader_bps, 2),
        "first_step_seconds": round(compile_s, 1),
        "step_alone_per_s": round(step_alone, 3),
        "steps_per_s": round(steps_per_s, 3),
        "fit_rates": [round(r, 3) for r in fit_rates],
        "data_wait": round(data_wait, 4),
        "forward_gflop_per_slice": round(flops / 1e9, 2),
        "tflop_per_s": round(tflops, 2),
        "matmul_size": n,
        "matmul_tflop_per_s": round(matmul, 2),
        "share_of_matmul": round(tflops / matmul, 3),
        "ten_epochs_min": round(steps_ten_epochs / steps_per_s / 60, 1),
        "inference_slices": args.slices,
        "inference_s": round(inference_s, 3),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    keys = ("backend", "steps_per_s", "data_wait", "tflop_per_s", "matmul_tflop_per_s", "ten_epochs_min", "inference_s")
    print(" ".join(f"{k}={result[k]}" for k in keys))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
