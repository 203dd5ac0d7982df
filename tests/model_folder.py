"""A model folder whose files pass their checks, for tests that never load
the network (its card, archive and operating thresholds)."""

import json
import zipfile

from brainmets.sequences import SEQUENCES


def write_model_folder(tmp_path, accepted_missing=(), reference=None, thresholds=None, **card_entries):
    """A model folder whose files pass their checks (the network is never
    loaded here); ``card_entries`` are added to its card."""
    folder = tmp_path / "model"
    folder.mkdir(parents=True)
    preprocessing = {"brain_extraction": {}, "registration": {}, "inplane_size": 32, "normalization": "zscore"}
    if reference:
        preprocessing["reference"] = reference
    card = {
        "format_version": 1, "sequences": list(SEQUENCES), "channels": 28, "context": 3, "inplane_size": 32, "fingerprint": "x",
        "sequence_dropout": 0.5 if accepted_missing else 0.0, "accepted_missing": [list(m) for m in accepted_missing], "preprocessing": preprocessing,
        **card_entries,
    }
    (folder / "model.json").write_text(json.dumps(card))
    with zipfile.ZipFile(folder / "model.keras", "w") as archive:
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"\0" * 64)
    (folder / "threshold.json").write_text(json.dumps(thresholds or {"operating_threshold": 0.5}))
    return folder
