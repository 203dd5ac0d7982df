"""Figures (``evaluation.figures``): the ablation figure from an ablation table's rows."""

import numpy as np
import pandas as pd
from PIL import Image

from brainmets.evaluation.ablation_table import PAPER_2021
from brainmets.evaluation.figures import ablation_figure
from brainmets.input_sets import INPUT_SETS


def rows(seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for pid in ("001", "002", "003"):
        for i, label in enumerate(INPUT_SETS):
            out.append({"patient_id": pid, "input_set": label, "dice": rng.uniform(0.5, 0.9) - 0.05 * i, "fp_components": int(rng.integers(0, 8)), "fp_components_min_volume": int(rng.integers(0, 4))})
    return pd.DataFrame(out)


def test_figure_has_a_bar_per_input_set_and_is_reproducible(tmp_path):
    first, second = {"png": tmp_path / "a.png", "pdf": tmp_path / "a.pdf"}, {"png": tmp_path / "b.png", "pdf": tmp_path / "b.pdf"}
    ablation_figure(rows(), first, list(INPUT_SETS), PAPER_2021)
    ablation_figure(rows(), second, list(INPUT_SETS), PAPER_2021)
    width, height = Image.open(first["png"]).size
    assert width > 800 and height > 300
    assert first["pdf"].read_bytes() == second["pdf"].read_bytes()
    # Fewer input sets (a model without BRAVO): a shorter figure.
    ablation_figure(rows()[~rows().input_set.str.contains("BRAVO")], {"png": tmp_path / "c.png"}, list(INPUT_SETS))
    assert Image.open(tmp_path / "c.png").size[1] < height
