"""``qc/preprocessing.tsv``: one row per patient of preprocessing quality,
from the reports the preprocessing steps write (``pipeline``), the
registration verdicts (``registration_gate``) and the lesion masks on the
network's grid."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from . import registration_gate


def lesion_voxels_outside(lesions_path, mask_path) -> tuple[int, int]:
    """Ground-truth lesion voxels outside the mask the network sees, and all."""
    lesions = np.asarray(nib.load(str(lesions_path)).dataobj) > 0
    mask = np.asarray(nib.load(str(mask_path)).dataobj) > 0
    return int((lesions & ~mask).sum()), int(lesions.sum())


def qc_table(bet_reports, xfm_reports, normalize_reports, lesion_masks=(), verdicts=(), own_reference_reports=()) -> pd.DataFrame:
    """One row per patient: its status (passed, flagged or failed by the
    registration gate, with the problem), engine, mask volume, the grid it
    was preprocessed on, mask Dice, registration error, and (labelled
    patients) lesion voxels outside the network's mask. A failed patient has
    no normalisation or lesion columns. ``lesion_masks``: (patient id,
    lesions on the network grid, its mask); ``verdicts``: the registration
    gate's, one per patient; ``own_reference_reports``: those of test
    patients lacking a sequence (``own_reference``), which name their steps'
    reports."""
    bet_reports, xfm_reports, normalize_reports, lesion_masks = list(bet_reports), list(xfm_reports), list(normalize_reports), list(lesion_masks)
    for f in own_reference_reports:
        r = json.loads(Path(f).read_text())
        bet_reports.append(r["reports"]["brain_extraction"])
        normalize_reports.append(r["reports"]["normalization"])
        xfm_reports.extend(r["reports"]["coregistration"])
        lesion_masks.append((r["patient_id"], r["lesions"], r["brain_mask"]))
    rows = {}
    for f in bet_reports:
        r = json.loads(Path(f).read_text())
        rows[r["patient_id"]] = {"patient_id": r["patient_id"], "status": "passed", "problem": None, "engine": r["engine"], "mask_volume_ml": r["mask_volume_ml"]}
    for f in verdicts:
        r = registration_gate.read_verdict(f)
        rows[r["patient_id"]].update(status=r["registration"], problem=r["problem"] and f"registration: {r['problem']}")
    for f in normalize_reports:
        r = json.loads(Path(f).read_text())
        rows[r["patient_id"]].update(reference=r.get("reference"), mask_dice=r.get("mask_dice"))
    for f in xfm_reports:
        r = json.loads(Path(f).read_text())
        row = rows[r["patient_id"]]
        seq = r["sequence"]
        row[f"{seq}_tre_mean_mm"] = r.get("tre_mean_mm")
        row[f"{seq}_tre_max_mm"] = r.get("tre_max_mm")
        row[f"{seq}_mi_gain"] = None if r.get("mi_after") is None else r["mi_after"] - r["mi_before"]
        row[f"{seq}_residual_shift_mm"] = r.get("residual_shift_mm")
        row[f"{seq}_mi_drop_when_displaced"] = r.get("mi_drop_when_displaced")
        row[f"{seq}_registration"] = r.get("registration", "passed")
    for pid, lesions_path, mask_path in lesion_masks:
        outside, total = lesion_voxels_outside(lesions_path, mask_path)
        rows[pid].update(lesion_voxels=total, lesion_voxels_outside_mask=outside)
    return pd.DataFrame(list(rows.values()))
