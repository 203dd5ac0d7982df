"""Is reading the records a bottleneck? The tf.data training pipeline's
throughput (decode, balanced sampling, augmentation, batching) against a
plain read of the same shard files and against the training step itself.

    python benchmarks/records_io.py --records results/demo/records --width 0.125

Reports medians of --repeats runs: bytes/s of the pipeline (compressed
bytes consumed) over bytes/s of a plain file read, and slices/s of the
pipeline over slices/s of training. Peak memory: run under /usr/bin/time -v.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np


def median_rate(fn, amount: float, repeats: int) -> float:
    fn()  # warm-up: page cache, tracing
    rates = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        rates.append(amount / (time.perf_counter() - t))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=Path, required=True, help="folder of sub-*_slices.json / .tfrecord.gz")
    parser.add_argument("--width", type=float, default=0.125)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from brainmets.network import dataset
    from brainmets.network.records import read_index

    indices = [read_index(p) for p in sorted(args.records.glob("sub-*_slices.json"))]
    shard_bytes = sum(Path(i["path"]).stat().st_size for i in indices)
    examples = sum(i["examples"] for i in indices)

    def plain_read():
        for i in indices:
            with open(i["path"], "rb") as fh:
                while fh.read(1 << 24):
                    pass

    settings = dict(batch_size=args.batch, lesion_fraction=0.5, augment=True, sequence_dropout=0.0)
    slices = args.batches * args.batch

    def pipeline():
        ds = dataset.training_dataset(indices, settings, seed=1)
        for _ in ds.take(args.batches):
            pass

    import keras

    from brainmets.network.model import build_model, compile_model

    first = indices[0]
    model = compile_model(build_model(first["channels"], args.width), dict(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, positive_weight=10.0))
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, first["height"], first["width"], first["channels"]), np.float32)
    y = (rng.random((args.batch, first["height"], first["width"], 1)) > 0.99).astype(np.float32)

    def train_steps():
        for _ in range(3):
            model.train_on_batch(x, y)

    read_bps = median_rate(plain_read, shard_bytes, args.repeats)
    pipe_sps = median_rate(pipeline, slices, args.repeats)
    train_sps = median_rate(train_steps, 3 * args.batch, args.repeats)
    bytes_per_example = shard_bytes / examples
    result = {
        "backend": keras.backend.backend(),
        "shards": len(indices),
        "examples": examples,
        "bytes_per_example": round(bytes_per_example),
        "raw_bytes_per_example": first["height"] * first["width"] * (first["channels"] + 2),
        "plain_read_MB_per_s": read_bps / 1e6,
        "pipeline_slices_per_s": pipe_sps,
        "pipeline_MB_per_s": pipe_sps * bytes_per_example / 1e6,
        "pipeline_over_plain_read": pipe_sps * bytes_per_example / read_bps,
        "train_slices_per_s": train_sps,
        "pipeline_over_training": pipe_sps / train_sps,
    }
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}, indent=2))


if __name__ == "__main__":
    main()
