"""The sequence-ablation table (``evaluation.ablation_table``): each input
set's mean with its paired 95% bootstrap interval, how many test patients
it rests on, beside the 2021 paper."""

import numpy as np
import pandas as pd

from brainmets.evaluation.ablation_table import METRICS, ablation_markdown, ablation_table


def _rows(dice_all, dice_without, grids=("BRAVO", "T1gd")):
    rows = []
    for i, (a, b) in enumerate(zip(dice_all, dice_without)):
        for label, dice, grid, cut in (("all given", a, grids[0], 0.5), ("without BRAVO", b, grids[1], 0.3)):
            rows.append({"patient_id": f"p{i}", "input_set": label, "grid": grid, "threshold": cut, **{m: 0.0 for m in METRICS}, "dice": dice})
    return pd.DataFrame(rows)


def test_means_intervals_and_the_paper_beside_them():
    rows = _rows([0.8, 0.9, 0.7, 0.85], [0.6, 0.8, 0.5, 0.7])
    table = ablation_table(rows, seed=1, resamples=500).set_index("input set")
    assert list(table.index) == ["all given", "without BRAVO"] and (table.patients == 4).all()
    mean, interval = table.loc["all given", "dice"].split(" [")
    lo, hi = (float(v) for v in interval.rstrip("]").split(" to "))
    assert float(mean) == round(np.mean([0.8, 0.9, 0.7, 0.85]), 3) and 0.7 <= lo < float(mean) < hi <= 0.9
    assert table.loc["without BRAVO", "grid"] == "T1gd" and table.loc["without BRAVO", "threshold"] == "0.300"
    assert table.loc["without BRAVO", "dice (2021 paper)"] == "0.795" and table.loc["all given", "dice (2021 paper)"] == ""
    # The same seed, the same intervals.
    assert ablation_table(rows, seed=1, resamples=500).equals(ablation_table(rows, seed=1, resamples=500))


def test_the_markdown_says_what_the_numbers_rest_on():
    text = ablation_markdown(ablation_table(_rows([0.8, 0.9], [0.6, 0.8]), seed=1, resamples=200), 10.0, resamples=200)
    assert "95% bootstrap interval" in text and "200 resamples" in text and "at least 10 mm^3" in text
