"""The files of a trained model folder (``network.paths``), as the
workflow's rule train names them."""

from pathlib import Path

from brainmets.network.paths import model_files


def test_model_folder_names():
    files = model_files("results/demo/models/main")
    assert files["model"] == Path("results/demo/models/main/model.keras") and files["card"].name == "model.json"
    assert {k: p.name for k, p in files.items()} == {
        "model": "model.keras", "card": "model.json", "history": "history.csv", "threshold": "threshold.json",
        "checkpoints": "checkpoints", "tensorboard": "tensorboard",
    }


def test_rule_train_writes_what_predict_reads():
    from tests.conftest import REPO

    rules = (REPO / "rules" / "network.smk").read_text()
    train = rules[rules.index("rule train:") : rules.index("script:", rules.index("rule train:"))]
    for key in ("model", "card", "history", "checkpoints", "tensorboard"):
        assert f'/models/{{{{model}}}}/{model_files(".")[key].name}"' in train, key
    # The operating threshold: rule operating_threshold's.
    threshold = rules[rules.index("rule operating_threshold:") :]
    assert f'/models/{{{{model}}}}/{model_files(".")["threshold"].name}"' in threshold
