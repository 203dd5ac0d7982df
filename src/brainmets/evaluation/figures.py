"""Figures 2-6 of the paper and the training curves, as PNG and PDF.

Every figure is drawn from saved results only: ``metrics/*.tsv``, the
models' ``history.csv``, and for the image figures the saved probability
maps, preprocessed BRAVO images and lesion masks.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..layout import FIGURES  # noqa: E402,F401 (re-exported)
from ..lesions import confident_components  # noqa: E402
from ..niio import atomic_write_bytes, load_nifti  # noqa: E402
from ..sequences import REFERENCE_PREFERENCE, SUBGROUPS  # noqa: E402
from ..slices import to_slices_last  # noqa: E402
from .tables import GROUP_NAMES  # noqa: E402

COLORS = {"1-3": "tab:blue", "4-10": "tab:orange", ">10": "tab:green"}
MASK_COLOUR = matplotlib.colors.ListedColormap(["magenta"])


@dataclass(frozen=True)
class PeakRule:
    """Which predicted lesions the image figures draw: those reaching
    ``min_peak_probability`` somewhere (``evaluation.lesion_min_peak_probability``;
    0, every one), lesions being ``connectivity``-connected components."""

    min_peak_probability: float = 0.0
    connectivity: int = 26

    @property
    def caption(self) -> str:
        return f", peak >= {self.min_peak_probability:g}" if self.min_peak_probability > 0 else ""


def save(fig, paths: dict) -> None:
    for ext, path in paths.items():
        buffer = io.BytesIO()
        # A fixed creation date keeps the PDF reproducible.
        fig.savefig(buffer, format=ext, dpi=150, bbox_inches="tight", metadata={"CreationDate": None} if ext == "pdf" else None)
        atomic_write_bytes(path, buffer.getvalue())
    plt.close(fig)


def _axial(path):
    data, affine = load_nifti(path)
    return to_slices_last(data, affine)


def _size_rule(size_threshold: float, found_fraction: float) -> str:
    """The size analysis' rule of a found lesion, as figure titles state it."""
    return f"probability {size_threshold:g}, >{100 * found_fraction:g}% covered"


# The reference image under the maps: the BRAVO, else the post-Gd T1.
SHORT_NAMES = {"BRAVO": "post-Gd BRAVO", "T1gd": "post-Gd T1", "T1pre": "pre-Gd T1", "FLAIR": "FLAIR"}


def _show_case(ax_row, reference_image, prob, truth, threshold, title, floor=0.1, image_name="post-Gd BRAVO", peak=PeakRule()):
    """Reference image with truth outlines | probability >= floor | the
    predicted mask (thresholded, less the lesions under the least peak)."""
    k = int(np.argmax(truth.sum(axis=(0, 1)))) if truth.any() else reference_image.shape[-1] // 2
    image = np.rot90(reference_image[..., k])
    outline = np.rot90(truth[..., k])
    # Components are whole lesions in 3-D: a lesion is kept or dropped as the metrics do.
    predicted = confident_components(prob >= threshold, prob, peak.min_peak_probability, peak.connectivity)[..., k]
    panels = [
        (f"{image_name}, ground truth", None),
        (f"probability >= {floor:g}", np.ma.masked_less(np.rot90(prob[..., k]), floor)),
        (f"prediction >= {threshold:.2f}{peak.caption}", np.ma.masked_less(np.rot90(predicted).astype(float), 0.5)),
    ]
    for n, (ax, (label, overlay)) in enumerate(zip(ax_row, panels)):
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        if n == 1:  # probabilities from the floor (red) to 1 (yellow)
            ax.imshow(overlay, cmap="autumn", vmin=floor, vmax=1, alpha=0.8)
        elif n == 2:  # the binary prediction in one colour
            ax.imshow(overlay, cmap=MASK_COLOUR, vmin=0, vmax=1, alpha=0.6)
        if outline.any():
            ax.contour(outline, levels=[0.5], colors="cyan", linewidths=0.8)
        ax.set_title(f"{title}\n{label}" if ax is ax_row[0] else label, fontsize=8)
        ax.axis("off")


def _case_files(cases: dict, pid: str):
    files = cases[pid]
    return _axial(files["reference"]), _axial(files["probability"]), _axial(files["lesions"]) > 0


def figure2(per_patient: pd.DataFrame, cases: dict, paths, size_threshold: float = 0.1, reference: str = REFERENCE_PREFERENCE[0], peak: PeakRule = PeakRule()) -> None:
    """Probability map from ``size_threshold`` over post-Gd BRAVO with
    ground-truth outlines, for the test patient with the most lesions."""
    pid = per_patient.sort_values(["lesions", "patient_id"], ascending=[False, True]).patient_id.iloc[0]
    row = per_patient.set_index("patient_id").loc[pid]
    image, prob, truth = _case_files(cases, pid)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
    title = f"sub-{pid} ({row.subgroup}, {row.lesions} lesions)"
    _show_case(axes, image, prob, truth, row.operating_threshold, title, size_threshold, SHORT_NAMES[reference], peak)
    save(fig, paths)


def figure3(roc: pd.DataFrame, paths) -> None:
    """Mean ROC per subgroup with 95% confidence bands (mean ± 1.96 SE)."""
    grid_columns = [c for c in roc.columns if c not in ("patient_id", "subgroup", "model")]
    fpr = np.array([float(c) for c in grid_columns])
    fig, ax = plt.subplots(figsize=(4.5, 4.2))
    for group in SUBGROUPS:
        tpr = roc.loc[roc.subgroup == group, grid_columns].astype(float).dropna().to_numpy()
        if not len(tpr):
            continue
        mean = tpr.mean(axis=0)
        half = 1.96 * tpr.std(axis=0, ddof=1) / np.sqrt(len(tpr)) if len(tpr) > 1 else np.zeros_like(mean)
        ax.plot(fpr, mean, color=COLORS[group], label=f"{GROUP_NAMES[group]}, n={len(tpr)}")
        ax.fill_between(fpr, np.clip(mean - half, 0, 1), np.clip(mean + half, 0, 1), color=COLORS[group], alpha=0.2, lw=0)
    ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", xlim=(0, 1), ylim=(0, 1.01), title="Voxel ROC per subgroup (95% CI)")
    ax.legend(loc="lower right", fontsize=8)
    save(fig, paths)


def figure4(per_patient: pd.DataFrame, cases: dict, paths, size_threshold: float = 0.1, reference: str = REFERENCE_PREFERENCE[0], peak: PeakRule = PeakRule()) -> None:
    """One test patient each with few, moderate and many lesions (the one
    with the median Dice of its subgroup)."""
    groups = [g for g in SUBGROUPS if (per_patient.subgroup == g).any()]
    fig, axes = plt.subplots(len(groups), 3, figsize=(9, 3.2 * len(groups)), squeeze=False)
    for ax_row, group in zip(axes, groups):
        members = per_patient[per_patient.subgroup == group].sort_values(["dice", "patient_id"], na_position="first")
        row = members.iloc[len(members) // 2]
        image, prob, truth = _case_files(cases, row.patient_id)
        title = f"{GROUP_NAMES[group]}: sub-{row.patient_id}, Dice {row.dice:.2f}"
        _show_case(ax_row, image, prob, truth, row.operating_threshold, title, size_threshold, SHORT_NAMES[reference], peak)
    save(fig, paths)


def figure5(lesions: pd.DataFrame, paths, bin_mm: float = 2.0, size_threshold: float = 0.1, found_fraction: float = 0.1) -> None:
    """Stacked histogram of found and missed lesions by longest diameter."""
    real = lesions[lesions.kind == "lesion"]
    top = max(bin_mm, float(np.ceil(real.longest_diameter_mm.max() / bin_mm) * bin_mm)) if len(real) else bin_mm
    bins = np.arange(0, top + bin_mm, bin_mm)
    found = real.found.astype(bool)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist([real.longest_diameter_mm[found], real.longest_diameter_mm[~found]], bins=bins, stacked=True, color=["tab:green", "tab:red"], label=[f"found ({found.sum()})", f"missed ({(~found).sum()})"])
    ax.set(xlabel="longest diameter (mm)", ylabel="lesions", title=f"Lesions found ({_size_rule(size_threshold, found_fraction)})")
    ax.legend()
    save(fig, paths)


def sensitivity_by_size(lesions: pd.DataFrame, thresholds) -> pd.DataFrame:
    real = lesions[lesions.kind == "lesion"]
    rows = []
    for t in thresholds:
        below, above = real[real.longest_diameter_mm < t], real[real.longest_diameter_mm >= t]
        rows.append(
            {
                "size_threshold_mm": t,
                "sensitivity_below": below.found.astype(bool).mean() if len(below) else np.nan,
                "sensitivity_above": above.found.astype(bool).mean() if len(above) else np.nan,
                "lesions_below": len(below),
                "lesions_above": len(above),
            }
        )
    return pd.DataFrame(rows)


def figure6(lesions: pd.DataFrame, paths, size_threshold: float = 0.1, found_fraction: float = 0.1) -> None:
    """Sensitivity for lesions below and above a size threshold."""
    curve = sensitivity_by_size(lesions, np.arange(2.0, 40.5, 0.5))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(curve.size_threshold_mm, 100 * curve.sensitivity_below, label="lesions < threshold")
    ax.plot(curve.size_threshold_mm, 100 * curve.sensitivity_above, label="lesions >= threshold")
    ax.set(xlabel="size threshold, longest diameter (mm)", ylabel="sensitivity (%)", ylim=(0, 102), title=f"Sensitivity below and above a size threshold\n({_size_rule(size_threshold, found_fraction)})")
    ax.legend()
    save(fig, paths)


def training_curves(histories: dict[str, pd.DataFrame], paths) -> None:
    fig, (loss_ax, dice_ax) = plt.subplots(1, 2, figsize=(9, 3.4))
    for name, h in sorted(histories.items()):
        loss_ax.plot(h.epoch, h.loss, label=f"{name} train")
        dice_ax.plot(h.epoch, h.dice, label=f"{name} train")
        if "val_loss" in h:
            scored = h.dropna(subset=["val_loss"])  # the epochs the dev patients were scored
            loss_ax.plot(scored.epoch, scored.val_loss, ls="--", marker=".", label=f"{name} dev")
            dice_ax.plot(scored.epoch, scored.val_dice, ls="--", marker=".", label=f"{name} dev")
    loss_ax.set(xlabel="epoch", ylabel="weighted cross-entropy", title="Loss")
    dice_ax.set(xlabel="epoch", ylabel="voxel Dice at 0.5", title="Dice", ylim=(0, 1))
    loss_ax.legend(fontsize=7)
    save(fig, paths)


def ablation_figure(rows: pd.DataFrame, paths, order, paper: dict | None = None, min_fp_volume_mm3: float = 10.0) -> None:
    """Dice and false positives per patient (all, and of at least the
    size the table counts) of each input set over the test patients: mean
    and SD, with the 2021 paper's values where it gives them."""
    labels = [label for label in order if label in set(rows.input_set)]
    groups = [rows[rows.input_set == label] for label in labels]
    y = np.arange(len(labels))[::-1]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 0.55 * len(labels) + 1.5), sharey=True)
    dice = [g.dice.astype(float) for g in groups]
    left.barh(y, [d.mean() for d in dice], xerr=[d.std() for d in dice], color="tab:blue", alpha=0.8)
    left.set_xlim(0, 1)
    left.set_xlabel("voxel Dice (mean, SD)")
    left.set_yticks(y, labels)
    fp = [g.fp_components.astype(float) for g in groups]
    fp_min = [g.fp_components_min_volume.astype(float) for g in groups]
    right.barh(y + 0.2, [f.mean() for f in fp], height=0.4, color="tab:red", alpha=0.6, label="all")
    right.barh(y - 0.2, [f.mean() for f in fp_min], height=0.4, color="tab:red", label=f"at least {min_fp_volume_mm3:g} mm$^3$")
    right.set_xlabel("false positives per patient (mean)")
    for i, label in enumerate(labels):
        for ax, key in ((left, "dice"), (right, "fp_components_min_volume")):
            value = (paper or {}).get(label, {}).get(key)
            if value is not None:
                ax.plot(value, y[i] - (0.2 if ax is right else 0), "k*", markersize=10, label="2021 paper" if key == "dice" else None)
    right.legend(loc="lower right", fontsize=8)
    if any((paper or {}).get(label) for label in labels):
        left.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"Sequence ablation: {rows.patient_id.nunique()} test patients, each input set at its own operating point")
    save(fig, paths)


def all_figures(
    per_patient,
    lesions,
    roc,
    histories,
    cases,
    paths: dict,
    size_threshold: float = 0.1,
    found_fraction: float = 0.1,
    reference: str = REFERENCE_PREFERENCE[0],
    peak: PeakRule = PeakRule(),
) -> None:
    """Every figure of ``FIGURES``; ``paths``: for each, its ``png`` and ``pdf`` file."""
    figure2(per_patient, cases, paths["figure2"], size_threshold, reference, peak)
    figure3(roc, paths["figure3"])
    figure4(per_patient, cases, paths["figure4"], size_threshold, reference, peak)
    figure5(lesions, paths["figure5"], size_threshold=size_threshold, found_fraction=found_fraction)
    figure6(lesions, paths["figure6"], size_threshold, found_fraction)
    training_curves(histories, paths["training_curves"])
