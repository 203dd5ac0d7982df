"""A trained model folder checked file by file before the network loads
(``network.modelfolder``): each broken file named with what is wrong."""

import json

import pytest

from brainmets.network.modelfolder import ModelFolderError, check_model_folder, read_json, read_threshold

from tests.model_folder import write_model_folder


def test_a_sound_folder_gives_its_card(tmp_path):
    folder = write_model_folder(tmp_path)
    assert check_model_folder(folder)["channels"] == 28 and read_threshold(folder) == 0.5


@pytest.mark.parametrize(
    "content, says",
    [
        (b'{"format_version": 1,\n "sequences": [', r"line 2, column \d+: not valid JSON .*truncated or edited\?"),
        (b"\xff\xfe", r"not UTF-8 text \(byte 0\)"),
        (b"[1, 2]", "expected a JSON object, found list"),
    ],
)
def test_a_broken_card_is_named_with_what_is_wrong(tmp_path, content, says):
    folder = write_model_folder(tmp_path)
    (folder / "model.json").write_bytes(content)
    with pytest.raises(ModelFolderError, match=r"^model file .*model.json: " + says):
        check_model_folder(folder)


def test_card_keys_and_their_kinds(tmp_path):
    folder = write_model_folder(tmp_path)
    card = read_json(folder / "model.json")
    for edit, says in (
        ({k: v for k, v in card.items() if k != "fingerprint"}, "lacks 'fingerprint'"),
        ({**card, "channels": True}, "'channels' is True, not a int"),
        ({**card, "sequences": ["CT"]}, "'sequences' must list some of T1pre"),
        ({**card, "preprocessing": {"inplane_size": 32}}, "'preprocessing' lacks brain_extraction, registration, normalization"),
    ):
        (folder / "model.json").write_text(json.dumps(edit))
        with pytest.raises(ModelFolderError, match=says):
            check_model_folder(folder)


def test_a_truncated_network_archive_is_caught(tmp_path):
    folder = write_model_folder(tmp_path)
    data = (folder / "model.keras").read_bytes()
    (folder / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFolderError, match=r"model.keras: not a readable Keras model archive .*truncated"):
        check_model_folder(folder)
    (folder / "model.keras").unlink()
    with pytest.raises(ModelFolderError, match="model.keras: missing"):
        check_model_folder(folder)


def test_the_threshold_file(tmp_path):
    folder = write_model_folder(tmp_path, thresholds={"operating_threshold": True})
    with pytest.raises(ModelFolderError, match="'operating_threshold' must be a number from 0 to 1, not True"):
        read_threshold(folder)
    (folder / "threshold.json").unlink()
    with pytest.raises(ModelFolderError, match="threshold.json: missing; give --threshold"):
        read_threshold(folder)
