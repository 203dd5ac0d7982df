"""Operating points per input set on the development patients
(``evaluation.input_set_points``)."""

from brainmets.network.train import load_trained


def test_operating_points_per_input_set_on_the_dev_patients(trained, records):
    from brainmets.evaluation.input_set_points import dev_input_set_points
    from brainmets.input_sets import INPUT_SETS
    from brainmets.evaluation.metrics import EvaluationSettings

    model, card = load_trained(trained / "a")
    dev = {
        f"d{i}": {"images": {seq: files[seq] for seq in card["sequences"]}, "brain_mask": files["brain_mask"], "lesions": files["lesions"]}
        for i, (files, _) in enumerate(records[:2])
    }
    points = dev_input_set_points(model, card, dev, "dice", 8.3, EvaluationSettings(), batch_size=4, margin=8)
    assert set(points) == set(INPUT_SETS) - {"all given"}
    for label, point in points.items():
        assert point["left_out"] == list(INPUT_SETS[label]) and 0 <= point["operating_threshold"] <= 1
        assert point["operating_point"] == "dice" and set(point["dev_patients"]) == {"d0", "d1"}
    # Each set's curve is its own: the network saw other inputs.
    curves = {label: [row["dice"] for row in point["dev_curve"]] for label, point in points.items()}
    assert curves["without BRAVO"] != curves["without BRAVO and T1gd"]
