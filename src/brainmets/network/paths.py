"""Where the network's files live inside a run folder."""

from __future__ import annotations

from pathlib import Path

from ..sequences import REFERENCE_PREFERENCE


def record_paths(records_dir, pid: str) -> dict[str, Path]:
    d = Path(records_dir)
    return {"shard": d / f"sub-{pid}_slices.tfrecord.gz", "index": d / f"sub-{pid}_slices.json"}


def model_files(model_dir) -> dict[str, Path]:
    d = Path(model_dir)
    return {
        "model": d / "model.keras",
        "card": d / "model.json",
        "history": d / "history.csv",
        "threshold": d / "threshold.json",
        "checkpoints": d / "checkpoints",
        "tensorboard": d / "tensorboard",
    }


def prediction_paths(predictions_dir, pid: str, reference: str = REFERENCE_PREFERENCE[0]) -> dict[str, Path]:
    """``reference``: the grid the map lies on (the BRAVO, else T1gd)."""
    d = Path(predictions_dir)
    return {
        "probability": d / f"sub-{pid}_space-{reference}_desc-lesion_probseg.nii.gz",
        "report": d / f"sub-{pid}_desc-inference.json",
    }
