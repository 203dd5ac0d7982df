"""The model shipped with the package: ``brainmets-predict`` uses it when no
``--model`` is given. It is trained by ``configs/pretrain.yaml`` on
synthetic patients of real anatomy only (never a real scan); its card
(``model.json``) and ``MODEL_CARD.md`` say how it was made and what it was
measured on."""

from __future__ import annotations

from pathlib import Path

from .modelfolder import ModelFolderError

SHIPPED_MODEL = Path(__file__).resolve().parents[1] / "models" / "pretrained"


def shipped_model_folder() -> Path:
    """The shipped model's folder; a named error where this copy of the
    package lacks it."""
    if not (SHIPPED_MODEL / "model.keras").is_file():
        raise ModelFolderError(SHIPPED_MODEL, "the shipped model is missing from this installation; give --model (a trained model folder)")
    return SHIPPED_MODEL
