"""One patient per output folder, complete or absent (``staging``)."""

import pytest

from brainmets.staging import OutputFolderError, check_output_folder, stage_outputs


def test_outputs_appear_only_when_complete(tmp_path):
    final = tmp_path / "out"
    check_output_folder(final, "p1", overwrite=False)
    with stage_outputs(final, "p1", overwrite=False) as stage:
        (stage / "sub-p1_mask.nii.gz").write_bytes(b"mask")
        assert not final.exists() and stage.parent == tmp_path and stage.name.startswith(".out.sub-p1.partial-")
    assert [p.name for p in final.iterdir()] == ["sub-p1_mask.nii.gz"] and not list(tmp_path.glob(".out.*"))


def test_a_failure_leaves_the_earlier_outputs_and_no_partial_folder(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "sub-p1_mask.nii.gz").write_bytes(b"earlier")
    with pytest.raises(RuntimeError, match="killed"):
        with stage_outputs(final, "p1", overwrite=True) as stage:
            (stage / "sub-p1_mask.nii.gz").write_bytes(b"half")
            raise RuntimeError("killed")
    assert (final / "sub-p1_mask.nii.gz").read_bytes() == b"earlier" and not list(tmp_path.glob(".out.*"))
    with stage_outputs(final, "p1", overwrite=True) as stage:
        (stage / "sub-p1_mask.nii.gz").write_bytes(b"new")
    assert (final / "sub-p1_mask.nii.gz").read_bytes() == b"new"


def test_a_folder_holding_outputs_is_refused_naming_whose(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    for name in ("sub-p2_mask.nii.gz", "sub-p2_desc-lesions.tsv", "sub-p3_mask.nii.gz", "notes.txt"):
        (final / name).write_text("x")
    with pytest.raises(OutputFolderError, match=r"^patient 'p1', file .*out: the output folder holds 4 entries \(outputs of sub-p2, sub-p3: notes.txt, "):
        check_output_folder(final, "p1", overwrite=False)
    check_output_folder(final, "p1", overwrite=True)  # replacing them is asked for
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputFolderError, match="the output folder is a file"):
        check_output_folder(tmp_path / "file", "p1", overwrite=True)
