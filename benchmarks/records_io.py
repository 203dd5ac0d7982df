"""Is the training data path a bottleneck? Records on disk, loading them
into memory, and balanced batch production (draws, 2.5D neighbourhood
gathers, augmentation) against a plain read of the same shard files and
against the training step itself.

    python benchmarks/records_io.py --records results/demo/records --width 0.125 --batch 16

Reports medians of --repeats runs: bytes per slice on disk (and raw), the
rate of loading the shards into memory over a plain file read (bytes/s),
and the batches/s the sampler produces (in NumPy, and through the training loader's
threads) over the training steps/s of the network at --width.
Peak memory: run under /usr/bin/time -v.
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

    from brainmets.network import dataset, loader
    from brainmets.network.records import read_index
    from brainmets.network.slicebank import SliceBank

    indices = [read_index(p) for p in sorted(args.records.glob("sub-*_slices.json"))]
    shard_bytes = sum(Path(i["path"]).stat().st_size for i in indices)
    slices = sum(i["examples"] for i in indices)

    def plain_read():
        for i in indices:
            with open(i["path"], "rb") as fh:
                while fh.read(1 << 24):
                    pass

    read_bps = median_rate(plain_read, shard_bytes, args.repeats)
    load_bps = median_rate(lambda: SliceBank(indices, context=3), shard_bytes, args.repeats)
    bank = SliceBank(indices, context=3)
    sampler = dataset.BalancedSampler(bank, args.batch, 0.5, seed=1, augment=True)

    def numpy_batches():
        for step in range(args.batches):
            sampler.batch(step)

    def loader_batches():
        batches = loader.training_batches(sampler, 0)
        for _ in range(args.batches):
            next(batches)
        batches.close()

    import keras

    from brainmets.network.model import build_model, compile_model

    model = compile_model(build_model(bank.channels, args.width), dict(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, positive_weight=10.0))
    x, y = (np.asarray(a, np.float32) for a in sampler.batch(0))

    def train_steps():
        for _ in range(3):
            model.train_on_batch(x / 255.0, y)

    numpy_bps = median_rate(numpy_batches, args.batches, args.repeats)
    loader_bps = median_rate(loader_batches, args.batches, args.repeats)
    train_bps = median_rate(train_steps, 3, args.repeats)
    h, w = bank.shape
    n_seq = bank.images.shape[-1]
    result = {
        "backend": keras.backend.backend(),
        "patients": len(indices),
        "slices": slices,
        "bytes_per_slice_on_disk": round(shard_bytes / slices),
        "raw_bytes_per_slice": h * w * (n_seq * bank.images.itemsize + 2),
        "plain_read_MB_per_s": read_bps / 1e6,
        "load_into_memory_MB_per_s": load_bps / 1e6,
        "load_over_plain_read": load_bps / read_bps,
        "memory_MB": (bank.images.nbytes + bank.labels.nbytes) / 1e6,
        "batch": args.batch,
        "numpy_batches_per_s": numpy_bps,
        "loader_batches_per_s": loader_bps,
        "train_steps_per_s": train_bps,
        "batch_production_over_training": loader_bps / train_bps,
    }
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}, indent=2))


if __name__ == "__main__":
    main()
