"""The sequence ablation (``evaluation.ablation``): a sequence-dropout
model's test patients with each input set, on the grid each set is given."""

import pytest

from brainmets.network.train import load_trained


def test_sequence_ablation_rows_and_table(trained, records, tmp_path):
    from brainmets.evaluation.ablation import ablation_rows, check_ablation_model
    from brainmets.evaluation.ablation_table import ablation_markdown, ablation_table
    from brainmets.input_sets import INPUT_SETS, input_sets
    from brainmets.evaluation.metrics import EvaluationSettings

    model, card = load_trained(trained / "a")  # trained with sequence dropout
    check_ablation_model(card, "a")
    patients = {
        f"p{i}": {"images": {seq: files[seq] for seq in card["sequences"]}, "brain_mask": files["brain_mask"], "lesions": files["lesions"]}
        for i, (files, _) in enumerate(records[:2])
    }
    thresholds = {"without BRAVO": 0.3, "without FLAIR": 0.7}  # the others: settings.threshold
    rows = ablation_rows(model, card, patients, EvaluationSettings(threshold=0.5), batch_size=4, margin=8, thresholds=thresholds)
    assert len(rows) == 2 * len(INPUT_SETS) and set(rows.input_set) == set(INPUT_SETS)
    assert rows.groupby("input_set").threshold.first().to_dict() == {label: thresholds.get(label, 0.5) for label in INPUT_SETS}
    # Leaving sequences out changes what the network sees.
    p0 = rows[rows.patient_id == "p0"].set_index("input_set")
    assert p0.loc["all given", "auc"] != p0.loc["without BRAVO and T1gd", "auc"]
    assert set(rows.grid) == {"BRAVO"}  # no other grid given
    # The sets without the BRAVO on another grid where given: here the same
    # files without the BRAVO, so the same results on a grid named T1gd.
    on_t1gd = {pid: {**files, "images": {s: f for s, f in files["images"].items() if s != "BRAVO"}} for pid, files in patients.items()}
    moved = ablation_rows(model, card, patients, EvaluationSettings(threshold=0.5), batch_size=4, margin=8, thresholds=thresholds, on_grid={"T1gd": on_t1gd})
    assert moved.groupby("input_set").grid.first().to_dict() == {
        label: "T1gd" if label in ("without BRAVO",) else "BRAVO" for label in INPUT_SETS
    }
    assert moved.drop(columns="grid").equals(rows.drop(columns="grid"))
    table = ablation_table(moved, seed=1, resamples=200)
    assert list(table["input set"]) == list(INPUT_SETS) and (table.patients == 2).all()
    assert table.set_index("input set").loc["without BRAVO", "grid"] == "T1gd"
    assert table.set_index("input set").loc["without BRAVO", "threshold"] == "0.300"
    assert "0.795" in ablation_markdown(table, 10.0)
    with pytest.raises(ValueError, match="model plain: the ablation leaves out T1pre, but the model was trained without sequence dropout"):
        check_ablation_model({**card, "sequence_dropout": 0.0}, "plain")
    # A model without BRAVO (BraTS) is ablated over its own sequences only.
    sets = input_sets(["T1pre", "T1gd", "FLAIR"])
    assert "without BRAVO" not in sets and "without BRAVO and T1gd" not in sets and "without T1gd" in sets
    assert list(input_sets(["T1gd"])) == ["all given"]
    # A model trained to do without the BRAVO alone (meant for scans that
    # have none) is ablated over what it takes, and says what it leaves out.
    only_bravo = {**card, "accepted_missing": [["BRAVO"]]}
    check_ablation_model(only_bravo, "bravoless")
    narrow = ablation_rows(model, only_bravo, patients, EvaluationSettings(threshold=0.5), batch_size=4, margin=8)
    assert list(dict.fromkeys(narrow.input_set)) == ["all given", "without BRAVO"]

