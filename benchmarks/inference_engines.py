"""CPU inference of the network on TensorFlow, OpenVINO and ONNX Runtime.

    python benchmarks/inference_engines.py --width 1 --size 256 --batch 4 --repeats 3

Builds the network at --width with a fixed seed, exports it for a fixed
(batch, size, size, channels) input (SavedModel for OpenVINO, ONNX through
Keras' own ``model.export(format="onnx")``), and times every engine on the
same batch, one engine after the other in each round (TF, OpenVINO, ONNX
Runtime, TF, ...), so that load from other processes falls on all alike.

TensorFlow runs as the workflow runs it (``model.predict_on_batch``).
OpenVINO and ONNX Runtime are optional and imported only here: an engine
that is not importable, or whose export or conversion fails, is skipped
with the reason. They need ``openvino``, ``onnxruntime``, ``onnx`` and
``tf2onnx`` importable, e.g. installed with ``pip install --target DIR``
and run with ``PYTHONPATH=DIR``. Every engine gets --threads threads.

Per engine: median seconds per batch, slices/s, speed against TensorFlow
(ratio of medians, and the median of the per-round ratios), achieved
GFLOP/s (forward FLOPs counted from the layers), and agreement with
TensorFlow over --check-batches random batches: largest absolute difference
of probabilities (sigmoid of the logits) and of logits. A freshly
initialised network's logits are tiny (about 1e-3), so every probability
sits at 0.5 and any output would pass a 1e-3 probability test; the output
layer's kernel is therefore scaled so that TensorFlow's logits have
standard deviation --logit-std on the first batch (the layer is linear, so
this only rescales the output, as training would). The share of TF
probabilities in [0.01, 0.99] and the logit difference relative to TF's
largest |logit| (rel) are printed so the probability figure can be judged.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    # Split by sign so that exp never overflows.
    out = np.empty_like(x, dtype=np.float64)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos].astype(np.float64)))
    e = np.exp(x[~pos].astype(np.float64))
    out[~pos] = e / (1.0 + e)
    return out


def openvino_engine(saved_model: Path, threads: int):
    ov = importlib.import_module("openvino")
    core = ov.Core()
    compiled = core.compile_model(
        ov.convert_model(str(saved_model)),
        "CPU",
        {
            "INFERENCE_NUM_THREADS": threads,
            # One request at a time, as the workflow infers batch after
            # batch: one stream with all threads, not several small ones.
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
            # f32 as TensorFlow; on CPUs with bf16 units OpenVINO would
            # otherwise pick bf16 by itself.
            "INFERENCE_PRECISION_HINT": "f32",
        },
    )
    request = compiled.create_infer_request()
    output = compiled.output(0)

    def run(x):
        return np.array(request.infer({0: x})[output], np.float32)

    return run, f"openvino {ov.__version__}"


def onnxruntime_engine(model, onnx_path: Path, signature, threads: int):
    ort = importlib.import_module("onnxruntime")
    importlib.import_module("tf2onnx")  # Keras' ONNX export under TF goes through it
    model.export(str(onnx_path), format="onnx", input_signature=signature, verbose=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # Inception branches one after another, each on all threads: running
    # them in parallel would only split the same cores.
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(x):
        return np.asarray(session.run(None, {name: x})[0], np.float32)

    return run, f"onnxruntime {ort.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--channels", type=int, default=28)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (each engine once per round)")
    parser.add_argument("--check-batches", type=int, default=3, help="random batches compared with TensorFlow; the first also warms up")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest probability difference counted as agreeing")
    parser.add_argument("--min-speedup", type=float, default=1.5)
    parser.add_argument("--logit-std", type=float, default=3.0, help="scale the output layer to this logit std; 0 keeps it as initialised")
    args = parser.parse_args()
    if args.size % 4:
        parser.error("--size must be a multiple of 4")

    from brainmets.network.model import build_model, forward_flops  # quiets TensorFlow first

    import keras
    import tensorflow as tf

    # Before any op runs, or TensorFlow keeps its defaults. Its inter-op
    # pool defaults to the number of cores; --threads for both keeps the
    # workflow's setting on a 2-core machine and caps it elsewhere.
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    keras.utils.set_random_seed(args.seed)
    model = build_model(args.channels, args.width)
    # A second copy with a fixed input size only to count FLOPs.
    gflop = forward_flops(build_model(args.channels, args.width, input_size=args.size)) / 1e9
    shape = (args.batch, args.size, args.size, args.channels)
    rng = np.random.default_rng(args.seed)
    batches = [rng.random(shape, np.float32) for _ in range(max(1, args.check_batches))]
    x = batches[0]
    if args.logit_std > 0:
        layer = model.get_layer("logits")
        kernel, bias = layer.get_weights()
        std = float(np.std(model.predict_on_batch(x)))
        layer.set_weights([kernel * (args.logit_std / std), bias])

    engines = {"tensorflow": (lambda b: np.asarray(model.predict_on_batch(b), np.float32), f"tensorflow {tf.__version__}, keras {keras.__version__}")}
    work = tempfile.TemporaryDirectory(prefix="inference_engines_")
    # A fixed input shape for the exports: the engines can then plan their
    # memory and kernels for it, as TensorFlow traces predict_on_batch for it.
    signature = [keras.InputSpec(shape=shape, dtype="float32")]
    saved_model = Path(work.name) / "saved_model"
    try:
        model.export(str(saved_model), format="tf_saved_model", input_signature=signature, verbose=False)
    except Exception as error:  # noqa: BLE001 (any failure is a reason to skip, printed)
        saved_model = None
        print(f"skip openvino: SavedModel export failed: {type(error).__name__}: {error}")
    if saved_model is not None:
        try:
            engines["openvino"] = openvino_engine(saved_model, args.threads)
        except Exception as error:  # noqa: BLE001
            print(f"skip openvino: {type(error).__name__}: {error}")
    try:
        engines["onnxruntime"] = onnxruntime_engine(model, Path(work.name) / "model.onnx", signature, args.threads)
    except Exception as error:  # noqa: BLE001
        print(f"skip onnxruntime: {type(error).__name__}: {error}")

    # Agreement; the first batch is also every engine's warm-up (tracing,
    # kernel selection, allocation).
    reference = [engines["tensorflow"][0](b) for b in batches]
    probs = np.concatenate([sigmoid(r).ravel() for r in reference])
    logits = np.concatenate([r.ravel() for r in reference])
    soft = float(np.mean((probs >= 0.01) & (probs <= 0.99)))
    scale = max(float(np.abs(logits).max()), np.finfo(np.float32).tiny)
    diffs = {"tensorflow": (0.0, 0.0)}
    for name, (run, _) in engines.items():
        if name == "tensorflow":
            continue
        dp = dl = 0.0
        for b, r in zip(batches, reference):
            out = run(b).reshape(r.shape)
            dp = max(dp, float(np.max(np.abs(sigmoid(out) - sigmoid(r)))))
            dl = max(dl, float(np.max(np.abs(out - r))))
        diffs[name] = (dp, dl)

    # Interleaved timing: each round runs every engine once on the same batch.
    times = {name: [] for name in engines}
    for _ in range(args.repeats):
        for name, (run, _) in engines.items():
            t = time.perf_counter()
            run(x)
            times[name].append(time.perf_counter() - t)

    print(f"width={args.width} size={args.size} batch={args.batch} channels={args.channels} repeats={args.repeats} threads={args.threads} (every engine)")
    print(f"forward GFLOP per slice: {gflop:.2f}; parameters: {model.count_params()}")
    print(f"TF logits: mean {logits.mean():.3g}, std {logits.std():.3g}, |max| {np.abs(logits).max():.3g}; TF probabilities in [0.01, 0.99]: {100 * soft:.1f}%")
    for name, (_, version) in engines.items():
        print(f"  {name}: {version}")
    header = f"{'engine':<12} {'s/batch':>9} {'slices/s':>9} {'vs TF':>7} {'paired':>7} {'GFLOP/s':>8} {'max|dp|':>9} {'max|dlogit|':>11} {'rel':>8}  verdict"
    print(header)
    print("-" * len(header))
    tf_median = statistics.median(times["tensorflow"])
    summary = []
    for name in engines:
        median = statistics.median(times[name])
        ratio = tf_median / median
        # Per-round ratios pair each engine's run with TF's run of the same
        # round, so slow spells from other load largely cancel.
        paired = statistics.median(t / e for t, e in zip(times["tensorflow"], times[name]))
        dp, dl = diffs[name]
        if name == "tensorflow":
            verdict = "baseline"
        else:
            fast, close = min(ratio, paired) >= args.min_speedup, dp <= args.tolerance
            verdict = "offer" if fast and close else "no: " + ", ".join(
                reason for reason, bad in ((f"< {args.min_speedup}x", not fast), (f"dp > {args.tolerance:g}", not close)) if bad
            )
        print(
            f"{name:<12} {median:9.3f} {args.batch / median:9.2f} {ratio:6.2f}x {paired:6.2f}x "
            f"{gflop * args.batch / median:8.1f} {dp:9.2e} {dl:11.2e} {dl / scale:8.1e}  {verdict}"
        )
        summary.append(f"{name}={ratio:.3f}")
    print("all times (s):", {name: [round(t, 3) for t in ts] for name, ts in times.items()})
    print("speedup_vs_tensorflow:", " ".join(summary))
    work.cleanup()


if __name__ == "__main__":
    main()
