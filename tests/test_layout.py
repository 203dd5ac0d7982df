"""Where a patient's files lie (``layout``): the names the rules and
``brainmets-predict`` share."""

from brainmets.layout import MOVING, PreprocessingFiles, ingested_files, moving_sequences, record_files


def test_defaults_are_unchanged_and_names_follow_the_reference(tmp_path):
    default = PreprocessingFiles.bids(tmp_path / "p", tmp_path / "q", "001")
    assert default == PreprocessingFiles.bids(tmp_path / "p", tmp_path / "q", "001", "BRAVO", "T1pre")
    assert MOVING == moving_sequences("BRAVO") == ("T1pre", "T1gd", "FLAIR") == tuple(default.coregistration)
    assert default.normalization.brain_mask.name == "sub-001_space-BRAVO_desc-brain_mask.nii.gz"
    assert default.brain_extraction.mask.name == "sub-001_space-T1pre_desc-brain_mask.nii.gz"
    assert default.coregistration["FLAIR"].transform.name == "sub-001_from-FLAIR_to-BRAVO_mode-image_xfm.mat"
    assert default.coregistration["T1gd"].qc == tmp_path / "q" / "sub-001" / "sub-001_desc-coreg_T1gd.png"
    assert default.normalization.report == tmp_path / "p" / "sub-001" / "sub-001_desc-normalization.json"
    assert default.registration.verdict == tmp_path / "p" / "sub-001" / "xfm" / "sub-001_desc-registration.json"
    assert default.registration.accepted.name == "sub-001_desc-registrationaccepted.json"
    t1gd = PreprocessingFiles.bids(tmp_path / "p", tmp_path / "q", "001", "T1gd", "T1gd")
    assert t1gd.normalization.images["FLAIR"].name == "sub-001_space-T1gd_desc-preproc_FLAIR.nii.gz"
    assert t1gd.brain_extraction.mask.name == "sub-001_space-T1gd_res-native_desc-brain_mask.nii.gz" != t1gd.normalization.brain_mask.name
    assert t1gd.coregistration["BRAVO"].transform.name == "sub-001_from-BRAVO_to-T1gd_mode-image_xfm.mat" and "T1gd" not in t1gd.coregistration
    assert t1gd.transforms(["T1gd", "FLAIR"]) == {"FLAIR": t1gd.coregistration["FLAIR"].transform}


def test_a_second_grid_names_its_reports_by_their_space(tmp_path):
    """The workflow's alternative reference writes beside the first grid's
    files: its reports and pictures must not take their names."""
    first = PreprocessingFiles.bids(tmp_path, tmp_path, "001", "BRAVO", "T1pre")
    second = PreprocessingFiles.bids(tmp_path, tmp_path, "001", "T1gd", "T1pre", second_grid=True)
    assert second.normalization.report.name == "sub-001_space-T1gd_desc-normalization.json" != first.normalization.report.name
    assert second.coregistration["FLAIR"].qc.name == "sub-001_space-T1gd_desc-coreg_FLAIR.png" != first.coregistration["FLAIR"].qc.name
    assert second.brain_extraction == first.brain_extraction
    everything = lambda f: [f.normalization.brain_mask, f.lesions, *f.normalization.images.values(), *(p for c in f.coregistration.values() for p in (c.transform, c.report, c.qc))]  # noqa: E731
    assert not set(everything(first)) & set(everything(second))


def test_the_rules_wildcard_stays_a_wildcard():
    files = PreprocessingFiles.bids("results/r/preproc", "results/r/qc", "{pid}")
    assert str(files.normalization.images["T1gd"]) == "results/r/preproc/sub-{pid}/anat/sub-{pid}_space-BRAVO_desc-preproc_T1gd.nii.gz"


def test_ingested_and_record_files():
    labelled = ingested_files("c", "7", ["T1gd", "FLAIR"])
    assert list(labelled) == ["T1gd", "FLAIR", "lesions", "lesion_table", "patient"]
    assert str(labelled["T1gd"]) == "c/sub-7/anat/sub-7_T1gd.nii.gz" and str(labelled["patient"]) == "c/sub-7/sub-7_patient.json"
    assert "lesions" not in ingested_files("c", "7", labelled=False)
    assert {k: str(v) for k, v in record_files("r", "7").items()} == {"shard": "r/sub-7_slices.tfrecord.gz", "index": "r/sub-7_slices.json"}
