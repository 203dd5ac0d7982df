"""The 95% bootstrap intervals beside each mean: the paper comparison and
the sequence-ablation table say how sure a mean is and how many test
patients it rests on."""

import numpy as np
import pandas as pd
import pytest

from brainmets.evaluation import tables
from brainmets.evaluation.ablation_table import ablation_markdown, ablation_table
from brainmets.input_sets import INPUT_SETS


def per_patient(n_per_group=4, seed=0):
    rng = np.random.default_rng(seed)
    groups = [g for g in ("1-3", "4-10", ">10") for _ in range(n_per_group)]
    df = pd.DataFrame({"patient_id": [f"{i:03d}" for i in range(len(groups))], "subgroup": groups})
    for column in tables.BOOTSTRAP_METRICS:
        df[column] = rng.random(len(groups))
    return df


def test_mean_interval_brackets_the_mean_and_narrows_with_more_patients():
    rng = np.random.default_rng(3)
    few, many = rng.normal(0.8, 0.1, 6), rng.normal(0.8, 0.1, 60)
    mean, lo, hi, n = tables.mean_interval(few, tables.resampled_patients(6, seed=1))
    assert lo < mean < hi and n == 6 and mean == pytest.approx(few.mean())
    _, lo_many, hi_many, _ = tables.mean_interval(many, tables.resampled_patients(60, seed=1))
    assert hi_many - lo_many < hi - lo
    # A patient without a value is left out of each resampled mean, and counted out.
    with_gap = np.append(few, np.nan)
    assert tables.mean_interval(with_gap, tables.resampled_patients(7, seed=1))[3] == 6
    # Identical values: an interval of no width.
    assert tables.mean_interval(np.full(5, 0.5), tables.resampled_patients(5, seed=1))[1:3] == (0.5, 0.5)


def test_same_seed_same_draws_other_seed_other_draws():
    a, b, c = (tables.resampled_patients(12, seed, 300) for seed in (7, 7, 8))
    assert a.tobytes() == b.tobytes() and a.tobytes() != c.tobytes()
    assert a.shape == (300, 12) and a.min() >= 0 and a.max() < 12


def test_paper_comparison_gives_interval_and_patients_per_row():
    df = per_patient()
    text = tables.paper_comparison(df, "test", synthetic=True, seed=1, resamples=500)
    assert text == tables.paper_comparison(df, "test", synthetic=True, seed=1, resamples=500)
    assert "| this run, 95% interval | patients |" in text
    dice_all = next(line for line in text.splitlines() if line.startswith("| 3B | Dice | All |"))
    cells = [c.strip() for c in dice_all.strip("|").split("|")]
    lo, hi = (float(x) for x in cells[5].split(" to "))
    assert lo < df.dice.mean() < hi and cells[6] == "12"
    dice_g1 = next(line for line in text.splitlines() if line.startswith("| 3B | Dice | G1 (1-3) |"))
    assert dice_g1.rstrip().endswith("| 4 |")
    # Percent metrics are shown in percent, their interval too.
    sens = next(line for line in text.splitlines() if line.startswith("| 3C | Lesion sensitivity (%) | All |"))
    lo, hi = (float(x) for x in sens.strip("|").split("|")[5].split(" to "))
    assert 0 <= lo < 100 * df.lesion_sensitivity.mean() < hi <= 100


def ablation_rows(n_patients=5):
    rng = np.random.default_rng(2)
    rows = []
    for label in INPUT_SETS:
        for i in range(n_patients):
            row = {"patient_id": f"p{i}", "input_set": label, "grid": "BRAVO", "threshold": 0.5}
            row.update({m: rng.random() for m in ("auc", "dice", "lesion_sensitivity")})
            row.update({m: float(rng.integers(0, 5)) for m in ("fp_components", "fp_components_min_volume")})
            rows.append(row)
    return pd.DataFrame(rows)


def test_ablation_table_gives_mean_and_interval_on_paired_draws():
    rows = ablation_rows()
    table = ablation_table(rows, seed=4, resamples=400).set_index("input set")
    assert table.equals(ablation_table(rows.sample(frac=1, random_state=0), seed=4, resamples=400).set_index("input set"))
    cell = table.loc["without FLAIR", "dice"]
    mean, interval = cell.split(" [")
    lo, hi = (float(x) for x in interval.rstrip("]").split(" to "))
    expected = rows[rows.input_set == "without FLAIR"].dice.mean()
    assert float(mean) == pytest.approx(expected, abs=5e-4) and lo < expected < hi
    assert (table.patients == 5).all()
    # A set scored on fewer patients says so.
    fewer = ablation_table(rows[~((rows.input_set == "without T1gd") & (rows.patient_id == "p0"))], seed=4, resamples=400)
    assert fewer.set_index("input set").loc["without T1gd", "patients"] == 4
    assert "95% bootstrap interval" in ablation_markdown(ablation_table(rows, seed=4, resamples=400), 10.0, 400)
