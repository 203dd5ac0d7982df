import pytest

from brainmets.cohort.sheet import read_sheet


def test_relative_paths_and_metadata(tmp_path):
    (tmp_path / "sheet.tsv").write_text(
        "patient_id\tT1pre\tT1gd\tBRAVO\tFLAIR\tlesions\tage\n"
        "p1\ta/t1.nii.gz\ta/t1gd.nii.gz\ta/bravo.nii.gz\ta/flair.nii.gz\ta/mask.nii.gz\t63\n"
        "p2\t/abs/t1.nii.gz\tb\tc\td\t\t\n"
    )
    records = read_sheet(tmp_path / "sheet.tsv")
    assert records[0].images["BRAVO"] == tmp_path / "a/bravo.nii.gz"
    assert records[0].metadata == {"age": "63"}
    assert records[1].lesions is None
    assert str(records[1].images["T1pre"]) == "/abs/t1.nii.gz"


def test_a_sequence_may_be_left_out(tmp_path):
    # No FLAIR column for x, an empty BRAVO cell for y: neither was acquired.
    (tmp_path / "s.tsv").write_text("patient_id\tT1pre\tT1gd\tBRAVO\nx\ta\tb\tc\ny\ta\tb\t\n")
    x, y = read_sheet(tmp_path / "s.tsv")
    assert sorted(x.images) == ["BRAVO", "T1gd", "T1pre"] and sorted(y.images) == ["T1gd", "T1pre"]


def test_row_without_images_names_line(tmp_path):
    (tmp_path / "s.tsv").write_text("patient_id\tT1pre\tlesions\nx\ta\tm\nz\t\tm\n")
    with pytest.raises(ValueError, match=r"line 3: patient z has no image"):
        read_sheet(tmp_path / "s.tsv")


def test_duplicate_ids(tmp_path):
    row = "x\ta\tb\tc\td\n"
    (tmp_path / "s.tsv").write_text("patient_id\tT1pre\tT1gd\tBRAVO\tFLAIR\n" + row + row)
    with pytest.raises(ValueError, match="more than once"):
        read_sheet(tmp_path / "s.tsv")
