"""A trained model folder, checked file by file before the network is loaded.

``brainmets-predict`` reads three files of it; a broken one must be named
with what is wrong (and the line, for JSON), not end in a ``KeyError`` or a
"file not found" about a file that exists.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from ..errors import NamedError
from ..sequences import SEQUENCES
from .paths import model_files

# What predict reads from the card (older cards lack the optional keys).
CARD_KEYS = {"format_version": int, "sequences": list, "channels": int, "context": int, "inplane_size": int, "preprocessing": dict, "fingerprint": str}
PREPROCESSING_KEYS = ("brain_extraction", "registration", "inplane_size", "normalization")


class ModelFolderError(NamedError):
    """A missing or broken file of a model folder (its message names the
    file, not the patient it was meant for)."""

    names_patient = False

    def __init__(self, file, problem: str):
        self.file, self.problem = str(file), problem
        super().__init__(f"model file {file}: {problem}")


def read_json(path) -> dict:
    """A JSON object from ``path``; a broken file is named with its line."""
    path = Path(path)
    if not path.is_file():
        raise ModelFolderError(path, "missing; is this a trained model folder?")
    try:
        value = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ModelFolderError(path, f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ModelFolderError(path, f"line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg}); truncated or edited?") from None
    if not isinstance(value, dict):
        raise ModelFolderError(path, f"expected a JSON object, found {type(value).__name__}")
    return value


def check_card(path, card: dict) -> None:
    for key, kind in CARD_KEYS.items():
        if key not in card:
            raise ModelFolderError(path, f"the model card lacks {key!r}; written by another version, or edited?")
        if not isinstance(card[key], kind) or isinstance(card[key], bool):
            raise ModelFolderError(path, f"{key!r} is {card[key]!r}, not a {kind.__name__}")
    unknown = [s for s in card["sequences"] if s not in SEQUENCES]
    if unknown or not card["sequences"]:
        raise ModelFolderError(path, f"'sequences' must list some of {', '.join(SEQUENCES)}, not {card['sequences']!r}")
    missing = [k for k in PREPROCESSING_KEYS if k not in card["preprocessing"]]
    if missing:
        raise ModelFolderError(path, f"'preprocessing' lacks {', '.join(missing)}")


def check_keras_file(path) -> None:
    """A ``.keras`` file is a zip archive; a truncated one fails its CRCs."""
    path = Path(path)
    if not path.is_file():
        raise ModelFolderError(path, "missing; is this a trained model folder?")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelFolderError(path, f"not a readable Keras model archive ({exc}); truncated or not a .keras file?") from None
    if bad is not None:
        raise ModelFolderError(path, f"member {bad} of the archive is corrupt")
    if "config.json" not in names:
        raise ModelFolderError(path, "the archive holds no config.json: not a Keras 3 model")


def read_threshold(model_dir) -> float:
    path = model_files(model_dir)["threshold"]
    if not path.exists():
        raise ModelFolderError(path, "missing; give --threshold")
    value = read_json(path).get("operating_threshold")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ModelFolderError(path, f"'operating_threshold' must be a number from 0 to 1, not {value!r}")
    return float(value)


def check_model_folder(model_dir) -> dict:
    """Check the card and the network file; returns the card."""
    if not Path(model_dir).is_dir():
        raise ModelFolderError(model_dir, "not a folder; give a trained model folder such as results/demo/models/main")
    paths = model_files(model_dir)
    card = read_json(paths["card"])
    check_card(paths["card"], card)
    check_keras_file(paths["model"])
    return card
