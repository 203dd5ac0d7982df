import pytest

from brainmets.splits import kfold_split, paper_split


def _cohort(n1, n2, n3):
    groups = ["1-3"] * n1 + ["4-10"] * n2 + [">10"] * n3
    return {f"p{i:03d}": g for i, g in enumerate(groups)}


def test_paper_scale_reproduces_the_papers_numbers():
    split = paper_split(_cohort(64, 47, 45), seed=3)
    assert len(split["test"]) == 51 and len(split["train"]) == 100 and len(split["dev"]) == 5
    cohort = _cohort(64, 47, 45)
    assert [sum(cohort[p] == g for p in split["test"]) for g in ("1-3", "4-10", ">10")] == [17, 17, 17]


def test_disjoint_complete_and_reproducible():
    cohort = _cohort(15, 11, 10)
    a, b = paper_split(cohort, seed=9), paper_split(cohort, seed=9)
    assert a == b
    assert a != paper_split(cohort, seed=10)
    parts = [set(a[k]) for k in ("train", "dev", "test")]
    assert set().union(*parts) == set(cohort) and sum(map(len, parts)) == len(cohort)
    assert a["test_per_subgroup"] == 4  # 17 * 36 / 156, rounded
    assert a["models"] == {"main": {k: a[k] for k in ("train", "dev", "test")}}


def test_unlabelled_patients_are_left_out():
    cohort = {**_cohort(4, 4, 4), "u1": "unlabelled"}
    split = paper_split(cohort, seed=1, test_per_subgroup=1)
    assert "u1" not in split["train"] + split["dev"] + split["test"]


def test_too_small_subgroup_is_an_error():
    with pytest.raises(ValueError, match="subgroup >10 has 1 patients"):
        paper_split(_cohort(5, 5, 1), seed=1, test_per_subgroup=2)


def test_kfold_stratified():
    cohort = _cohort(10, 10, 10)
    split = kfold_split(cohort, seed=2, k=5)
    folds = split["folds"]
    assert sorted(p for f in folds for p in f) == sorted(cohort)
    for fold in folds:
        assert [sum(cohort[p] == g for p in fold) for g in ("1-3", "4-10", ">10")] == [2, 2, 2]
    for i, (name, model) in enumerate(split["models"].items()):
        assert name == f"fold{i + 1}" and model["test"] == folds[i]
        assert sorted(model["train"] + model["dev"] + model["test"]) == sorted(cohort)
        assert len(model["dev"]) == 1  # 24 training patients, 1/21 of them
    with pytest.raises(ValueError, match="cannot be split"):
        kfold_split(_cohort(1, 1, 1), seed=2, k=5)


def test_split_from_settings_follows_the_strategy():
    from brainmets.splits import patient_subgroups, split_from_settings, split_summary

    cohort = _cohort(6, 6, 6)
    paper = split_from_settings(cohort, 4, {"strategy": "paper", "test_per_subgroup": 2, "min_dev_patients": 1})
    assert paper == paper_split(cohort, 4, 2, min_dev=1)
    assert split_summary(paper) == f"split: {len(paper['train'])} train, {len(paper['dev'])} dev, 6 test"
    kfold = split_from_settings(cohort, 4, {"strategy": "kfold", "k": 3, "min_dev_patients": 2})
    assert kfold == kfold_split(cohort, 4, 3, min_dev=2)
    assert split_summary(kfold) == "split: 3 folds of [6, 6, 6] patients"
    records = [{"patient_id": "a", "subgroup": "1-3"}, {"patient_id": "b", "subgroup": None}]
    assert patient_subgroups(records) == {"a": "1-3", "b": "unlabelled"}


def test_patients_lacking_an_input_are_only_ever_tested():
    from brainmets.splits import split_from_settings

    cohort = _cohort(6, 6, 6)
    settings = {"strategy": "paper", "test_per_subgroup": 2, "min_dev_patients": 1}
    split = split_from_settings(cohort, 4, settings, test_only=["p007", "p001"])
    others = {pid: g for pid, g in cohort.items() if pid not in ("p001", "p007")}
    drawn = paper_split(others, 4, 2, min_dev=1)
    assert split["test_only"] == ["p001", "p007"]
    assert split["test"] == sorted(drawn["test"] + ["p001", "p007"]) == split["models"]["main"]["test"]
    assert split["train"] == drawn["train"] and split["dev"] == drawn["dev"]
    assert not {"p001", "p007"} & set(split["train"] + split["dev"])
    with pytest.raises(ValueError, match="patients p001 lack an input and can only be test patients, but split.strategy kfold"):
        split_from_settings(cohort, 4, {"strategy": "kfold", "k": 3, "min_dev_patients": 1}, test_only=["p001"])
