"""Throughput of the network: training step, inference, and the machine's
own SGEMM rate for reference, under any Keras 3 backend.

    KERAS_BACKEND=tensorflow python benchmarks/network.py --width 1 --size 256
    KERAS_BACKEND=jax python benchmarks/network.py --width 1 --size 256 --precision mixed_bfloat16

Reports medians of --repeats timed runs after a warm-up: slices/s, achieved
GFLOP/s (forward FLOPs counted from the layers; a training step is taken as
3x forward) and the ratio to SGEMM GFLOP/s measured in the same process, and
the time to infer a whole volume of --slices slices. Input is random: this
measures the network, not the data (see records_io.py for that).
Peak memory: run under /usr/bin/time -v.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up: compilation, allocation
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def sgemm_gflops(keras, n: int, repeats: int) -> float:
    from keras import ops

    a = ops.convert_to_tensor(np.random.default_rng(0).random((n, n), np.float32))
    b = ops.convert_to_tensor(np.random.default_rng(1).random((n, n), np.float32))
    seconds = median_time(lambda: ops.convert_to_numpy(ops.sum(ops.matmul(a, b))), repeats)
    return 2 * n**3 / seconds / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--channels", type=int, default=28)
    parser.add_argument("--batch", type=int, default=8, help="training batch (the paper: 32 over two GPUs)")
    parser.add_argument("--infer-batch", type=int, default=16)
    parser.add_argument("--slices", type=int, default=160, help="slices of the whole volume to infer")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--precision", default="float32", choices=["float32", "mixed_float16", "mixed_bfloat16"])
    parser.add_argument("--sgemm-n", type=int, default=2048)
    parser.add_argument("--skip-volume", action="store_true")
    args = parser.parse_args()

    from brainmets.network.model import build_model, compile_model, forward_flops  # quiets TensorFlow first

    import keras

    keras.mixed_precision.set_global_policy(args.precision)
    keras.utils.set_random_seed(0)
    sgemm = sgemm_gflops(keras, args.sgemm_n, args.repeats)
    model = build_model(args.channels, args.width, input_size=args.size)
    flops = forward_flops(model)
    settings = dict(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, positive_weight=10.0)
    compile_model(model, settings)
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, args.size, args.size, args.channels), np.float32)
    y = (rng.random((args.batch, args.size, args.size, 1)) > 0.99).astype(np.float32)
    train_s = median_time(lambda: model.train_on_batch(x, y), args.repeats)
    xi = rng.random((args.infer_batch, args.size, args.size, args.channels), np.float32)
    infer_s = median_time(lambda: model.predict_on_batch(xi), args.repeats)
    result = {
        "backend": keras.backend.backend(),
        "precision": args.precision,
        "width": args.width,
        "size": args.size,
        "parameters": model.count_params(),
        "forward_gflop_per_slice": flops / 1e9,
        "sgemm_gflops": sgemm,
        "train_slices_per_s": args.batch / train_s,
        "train_gflops": 3 * flops * args.batch / train_s / 1e9,
        "infer_slices_per_s": args.infer_batch / infer_s,
        "infer_gflops": flops * args.infer_batch / infer_s / 1e9,
    }
    result["train_fraction_of_sgemm"] = result["train_gflops"] / sgemm
    result["infer_fraction_of_sgemm"] = result["infer_gflops"] / sgemm
    if not args.skip_volume:
        def volume():
            for start in range(0, args.slices, args.infer_batch):
                model.predict_on_batch(xi[: min(args.infer_batch, args.slices - start)])

        # The model is warm from the batch timings above: no extra warm-up pass.
        times = []
        for _ in range(max(1, args.repeats // 2)):
            t = time.perf_counter()
            volume()
            times.append(time.perf_counter() - t)
        result["volume_seconds"] = statistics.median(times)
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}, indent=2))


if __name__ == "__main__":
    main()
