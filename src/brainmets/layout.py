"""The figures' names, and where ``brainmets-predict`` keeps a patient's
preprocessing files in its ``work/`` folder (the workflow's rules name
their own files, in ``rules/``). Pure path functions, importable without
the heavy libraries (ANTs, matplotlib, TensorFlow).

Preprocessing file names follow BIDS derivatives:

    preproc/sub-<id>/anat/sub-<id>_space-T1pre_desc-brain_mask.nii.gz
    preproc/sub-<id>/xfm/sub-<id>_from-<seq>_to-BRAVO_mode-image_xfm.mat
    preproc/sub-<id>/anat/sub-<id>_space-BRAVO_desc-preproc_<seq>.nii.gz
    preproc/sub-<id>/anat/sub-<id>_space-BRAVO_desc-brain_mask.nii.gz
    preproc/sub-<id>/anat/sub-<id>_space-BRAVO_desc-lesions_mask.nii.gz

``BRAVO`` and ``T1pre`` stand for a patient's reference and the image brain
extraction ran on: ``brainmets-predict`` passes the ones it chose (the
first of ``preprocessing.reference`` that the patient has, e.g.
the T1gd without a BRAVO; the reference itself without a T1pre), which then
take their place in these names (``res-native`` marks the brain-extraction
mask when it was drawn on the reference itself).
"""

from __future__ import annotations

from pathlib import Path

from .sequences import REFERENCE_PREFERENCE, SEQUENCES


def moving_sequences(reference: str = REFERENCE_PREFERENCE[0]) -> tuple[str, ...]:
    """The sequences registered onto ``reference``."""
    return tuple(s for s in SEQUENCES if s != reference)


MOVING = moving_sequences()
FIGURES = ("figure2", "figure3", "figure4", "figure5", "figure6", "training_curves")


def preproc_paths(preproc_dir, qc_dir, pid: str, reference: str = REFERENCE_PREFERENCE[0], brain_extraction_on: str = "T1pre") -> dict[str, Path]:
    base = Path(preproc_dir) / f"sub-{pid}"
    sub, ref, bet = f"sub-{pid}", reference, brain_extraction_on
    # Brain extraction on the reference itself: its native-grid mask must not
    # share a name with the one on the network's grid.
    native = "_res-native" if bet == ref else ""
    paths = {
        "bet_mask": base / "anat" / f"{sub}_space-{bet}{native}_desc-brain_mask.nii.gz",
        "bet_report": base / "anat" / f"{sub}_desc-brainextraction.json",
        "bet_qc": Path(qc_dir) / sub / f"{sub}_desc-brainmask_{bet}.png",
        "brain_mask": base / "anat" / f"{sub}_space-{ref}_desc-brain_mask.nii.gz",
        "lesions": base / "anat" / f"{sub}_space-{ref}_desc-lesions_mask.nii.gz",
        "normalize_report": base / f"{sub}_desc-normalization.json",
    }
    for seq in SEQUENCES:
        paths[f"preproc_{seq}"] = base / "anat" / f"{sub}_space-{ref}_desc-preproc_{seq}.nii.gz"
    for seq in moving_sequences(reference):
        paths.update({f"{key}_{seq}": path for key, path in coregistration_paths(preproc_dir, qc_dir, pid, seq, reference).items()})
    return paths


def coregistration_paths(preproc_dir, qc_dir, pid: str, seq: str, reference: str = REFERENCE_PREFERENCE[0]) -> dict[str, Path]:
    sub = f"sub-{pid}"
    xfm = Path(preproc_dir) / sub / "xfm"
    return {
        "xfm": xfm / f"{sub}_from-{seq}_to-{reference}_mode-image_xfm.mat",
        "xfm_report": xfm / f"{sub}_from-{seq}_to-{reference}_desc-metrics.json",
        "coreg_qc": Path(qc_dir) / sub / f"{sub}_desc-coreg_{seq}.png",
    }
