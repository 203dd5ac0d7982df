"""Where the workflow's per-patient files and figures live: pure path
functions, importable without the heavy libraries (ANTs, matplotlib,
TensorFlow), so that building the job graph needs none of them.

Preprocessing file names follow BIDS derivatives:

    preproc/sub-<id>/anat/sub-<id>_space-T1pre_desc-brain_mask.nii.gz
    preproc/sub-<id>/xfm/sub-<id>_from-<seq>_to-BRAVO_mode-image_xfm.mat
    preproc/sub-<id>/anat/sub-<id>_space-BRAVO_desc-preproc_<seq>.nii.gz
    preproc/sub-<id>/anat/sub-<id>_space-BRAVO_desc-brain_mask.nii.gz
    preproc/sub-<id>/anat/sub-<id>_space-BRAVO_desc-lesions_mask.nii.gz
"""

from __future__ import annotations

from pathlib import Path

from .sequences import REFERENCE, SEQUENCES

MOVING = tuple(s for s in SEQUENCES if s != REFERENCE)
FIGURES = ("figure2", "figure3", "figure4", "figure5", "figure6", "training_curves")


def preproc_paths(preproc_dir, qc_dir, pid: str) -> dict[str, Path]:
    base = Path(preproc_dir) / f"sub-{pid}"
    sub = f"sub-{pid}"
    paths = {
        "bet_mask": base / "anat" / f"{sub}_space-T1pre_desc-brain_mask.nii.gz",
        "bet_report": base / "anat" / f"{sub}_desc-brainextraction.json",
        "bet_qc": Path(qc_dir) / sub / f"{sub}_desc-brainmask_T1pre.png",
        "brain_mask": base / "anat" / f"{sub}_space-BRAVO_desc-brain_mask.nii.gz",
        "lesions": base / "anat" / f"{sub}_space-BRAVO_desc-lesions_mask.nii.gz",
        "normalize_report": base / f"{sub}_desc-normalization.json",
    }
    for seq in SEQUENCES:
        paths[f"preproc_{seq}"] = base / "anat" / f"{sub}_space-BRAVO_desc-preproc_{seq}.nii.gz"
    for seq in MOVING:
        paths.update({f"{key}_{seq}": path for key, path in coregistration_paths(preproc_dir, qc_dir, pid, seq).items()})
    return paths


def coregistration_paths(preproc_dir, qc_dir, pid: str, seq: str) -> dict[str, Path]:
    sub = f"sub-{pid}"
    xfm = Path(preproc_dir) / sub / "xfm"
    return {
        "xfm": xfm / f"{sub}_from-{seq}_to-{REFERENCE}_mode-image_xfm.mat",
        "xfm_report": xfm / f"{sub}_from-{seq}_to-{REFERENCE}_desc-metrics.json",
        "coreg_qc": Path(qc_dir) / sub / f"{sub}_desc-coreg_{seq}.png",
    }


def figure_paths(figures_dir) -> dict[str, dict[str, Path]]:
    d = Path(figures_dir)
    return {name: {ext: d / f"{name}.{ext}" for ext in ("png", "pdf")} for name in FIGURES}
