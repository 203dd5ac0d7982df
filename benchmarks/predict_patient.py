"""Benchmark: ``brainmets-predict`` on one full-size phantom patient,
preprocessing and inference, with the paper config's settings.

    /usr/bin/time -v python benchmarks/predict_patient.py --width 1 --repeats 3

Simulates one patient at the paper's protocol (BRAVO 256x256x160), writes a
model folder holding an untrained network of --width at 256x256 (the time
does not depend on the weights; the card says it is untrained) with the
preprocessing settings of configs/paper.yaml (schema defaults filled in),
and times ``predict_patient_files`` --repeats times in this process: the
first run includes TensorFlow's tracing, as a user's single call does, so
both the first and the median of the rest are reported. Peak memory comes
from ``/usr/bin/time -v``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def paper_preprocessing() -> dict:
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "configs" / "paper.yaml").read_text())
    validate(config, str(REPO / "schemas" / "config.schema.yaml"), set_default=True)
    return config


def untrained_model_folder(folder: Path, config: dict, width: float) -> None:
    from brainmets.network.model import build_model
    from brainmets.network.stacking import n_channels
    from brainmets.network.train import CARD_VERSION, cohort_description
    from brainmets.sequences import SEQUENCES

    folder.mkdir(parents=True)
    context = config["records"]["context"]
    model = build_model(n_channels(len(SEQUENCES), context), width)
    model.save(folder / "model.keras")
    card = {
        "format_version": CARD_VERSION,
        "sequences": list(SEQUENCES),
        "context": context,
        "channels": n_channels(len(SEQUENCES), context),
        "inplane_size": config["preprocessing"]["inplane_size"],
        "preprocessing": config["preprocessing"],
        "training_cohort": {**cohort_description("none", False), "warning": "untrained network, for timing only"},
        "width": width,
        "sequence_dropout": 0.0,
        "accepted_missing": [],
        "fingerprint": "untrained",
    }
    (folder / "model.json").write_text(json.dumps(card, indent=2))
    (folder / "threshold.json").write_text(json.dumps({"operating_threshold": 0.5}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args()

    from brainmets.phantom.generate import PhantomConfig, generate_patient, phantom_paths
    from brainmets.predict import predict_patient_files
    from brainmets.sequences import SEQUENCES

    config = paper_preprocessing()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate_patient(PhantomConfig(resolution_scale=1.0, fraction_512=0.0), args.seed, 0, "001", "4-10", phantom_paths(tmp / "phantom", "001"))
        raw = phantom_paths(tmp / "phantom", "001")
        untrained_model_folder(tmp / "model", config, args.width)
        images = {seq: str(raw[seq]) for seq in SEQUENCES}
        totals, inference = [], []
        for repeat in range(args.repeats):
            start = time.perf_counter()
            report = predict_patient_files("001", images, tmp / "model", tmp / f"out{repeat}", batch_size=args.batch)
            totals.append(time.perf_counter() - start)
            inference.append(report["inference_seconds"])
            print(f"run {repeat + 1}: {totals[-1]:.1f} s in all, inference {inference[-1]:.1f} s, preprocessing and the rest {totals[-1] - inference[-1]:.1f} s")
        rest = totals[1:] or totals
        print(
            f"first_run_seconds={totals[0]:.1f} median_seconds={statistics.median(rest):.1f} "
            f"median_inference_seconds={statistics.median(inference[1:] or inference):.1f} width={args.width} runs={args.repeats}"
        )


if __name__ == "__main__":
    main()
