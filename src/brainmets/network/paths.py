"""The files of a trained model folder, as ``brainmets-predict`` reads it
(the workflow's rule train writes these names under
``results/<run>/models/<model>/``)."""

from __future__ import annotations

from pathlib import Path


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
