"""Figure titles and table labels state the configured size-analysis
probability, found fraction and false-positive size limit."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from brainmets.evaluation import figures, tables  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
METRICS = ["auc", "sensitivity", "specificity", "dice", "recall", "precision", "lesion_sensitivity", "fp_components", "fp_components_min_volume"]


@pytest.fixture
def drawn(monkeypatch):
    """Figures drawn but not written: kept for their texts."""
    kept = []
    monkeypatch.setattr(figures, "save", lambda fig, paths: kept.append(fig))
    yield kept
    for fig in kept:
        matplotlib.pyplot.close(fig)


def texts(fig):
    return [t for ax in fig.axes for t in (ax.get_title(), ax.get_xlabel(), ax.get_ylabel())]


def lesions():
    return pd.DataFrame({"kind": ["lesion"] * 4 + ["false_positive"], "longest_diameter_mm": [3.0, 6.5, 12.0, 20.0, 4.0], "found": [False, True, True, True, False]})


def per_patient():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"patient_id": [f"{i:03d}" for i in range(9)], "subgroup": ["1-3"] * 3 + ["4-10"] * 3 + [">10"] * 3})
    for column in METRICS:
        df[column] = rng.random(9)
    df["lesions"] = [1, 2, 3, 4, 6, 9, 11, 14, 20]
    df["operating_threshold"] = 0.5
    return df


def test_size_analysis_figures_state_the_settings(drawn):
    figures.figure5(lesions(), {}, size_threshold=0.2, found_fraction=0.25)
    figures.figure6(lesions(), {}, size_threshold=0.2, found_fraction=0.25)
    for fig in drawn:
        title = fig.axes[0].get_title()
        assert "probability 0.2," in title and ">25% covered" in title
        assert "0.1" not in title and "10%" not in title


def test_size_analysis_figures_default_to_the_paper(drawn):
    figures.figure5(lesions(), {})
    assert "probability 0.1, >10% covered" in drawn[0].axes[0].get_title()


def test_case_figures_show_probability_from_the_size_threshold(drawn, monkeypatch):
    truth = np.zeros((8, 8, 4), bool)
    truth[2:4, 2:4, 1] = True
    prob = np.where(truth, 0.9, 0.15).astype(np.float32)
    monkeypatch.setattr(figures, "_case_files", lambda cases, pid: (np.full(truth.shape, 0.5), prob, truth))
    figures.figure2(per_patient(), {}, {}, size_threshold=0.2)
    figures.figure4(per_patient(), {}, {}, size_threshold=0.2)
    for fig in drawn:
        labels = [t for t in texts(fig) if "probability" in t]
        assert labels and all(t.endswith("probability >= 0.2") for t in labels)
    # The overlay hides probabilities under the threshold: 0.15 is not drawn.
    overlay = drawn[0].axes[1].images[1].get_array()
    assert overlay.mask.sum() == prob[..., 1].size - truth[..., 1].sum()



def test_case_figures_draw_only_the_lesions_that_reach_the_least_peak(drawn, monkeypatch):
    truth = np.zeros((12, 12, 4), bool)
    truth[2:4, 2:4, 1] = True
    prob = np.zeros(truth.shape, np.float32)
    prob[2:4, 2:4, 1] = 0.7  # the lesion: 0.7 here, 0.99 on the next slice
    prob[2:4, 2:4, 2] = 0.99
    prob[8:10, 8:10, 1] = 0.7  # a blob that never reaches 0.95
    monkeypatch.setattr(figures, "_case_files", lambda cases, pid: (np.full(truth.shape, 0.5), prob, truth))
    figures.figure2(per_patient(), {}, {}, peak=figures.PeakRule(0.95, 26))
    figures.figure2(per_patient(), {}, {})
    with_peak, without = (fig.axes[2] for fig in drawn)
    assert with_peak.get_title() == "prediction >= 0.50, peak >= 0.95"
    assert without.get_title() == "prediction >= 0.50"
    shown = [np.rot90(~ax.images[1].get_array().mask, -1) for ax in (with_peak, without)]
    # The lesion is kept whole on the slice shown, though it peaks on another.
    assert np.array_equal(shown[0], truth[..., 1])
    assert np.array_equal(shown[1], prob[..., 1] >= 0.5)


def test_tables_state_the_fp_size_limit():
    df = per_patient()
    t3 = tables.table3(df, "3C", min_fp_volume_mm3=5)
    assert "FP per patient (>= 5 mm^3)" in t3.columns
    assert "FP per patient (>= 5 mm^3)" in tables.table3_markdown(t3, "3C", min_fp_volume_mm3=5)
    t4 = tables.table4(df, "4C", min_fp_volume_mm3=5)
    assert "FP per patient (>= 5 mm^3)" in list(t4.metric)
    comparison = tables.paper_comparison(df, "test", synthetic=True, seed=1, min_fp_volume_mm3=5.0)
    assert "| FP per patient (>= 5 mm^3) |" in comparison and "10 mm^3" not in comparison
    assert "- smallest counted false positive (mm^3): 5.0 (paper: 10.0)" in comparison
    assert "FP per patient (>= 10 mm^3)" in tables.table3(df, "3C").columns
    assert "smallest counted false positive" not in tables.paper_comparison(df, "test", synthetic=True, seed=1)


@pytest.mark.parametrize("rule, script", [("make_figures", "figures.py"), ("make_tables", "tables.py")])
def test_rules_pass_the_params_their_scripts_read(rule, script):
    rules = (REPO / "rules" / "evaluation.smk").read_text()
    block = re.search(rf"^rule {rule}:\n(.*?)(?=^\S|\Z)", rules, re.S | re.M).group(1)
    params = re.search(r"^    params:\n(.*?)(?=^    \S|\Z)", block, re.S | re.M).group(1)
    given = set(re.findall(r"^        (\w+)=", params, re.M))
    read = set(re.findall(r"snakemake\.params\.(\w+)", (REPO / "workflow_scripts" / script).read_text()))
    assert read and read <= given
