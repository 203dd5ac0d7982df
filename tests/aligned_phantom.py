"""A phantom patient as BraTS and BrainMetShare ship theirs: every sequence
already aligned on the reference's grid (the phantom's true head motion
undone), so that co-registration has nothing left to do."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np

from brainmets.geometry import resample_to_grid
from brainmets.niio import save_nifti
from brainmets.sequences import SEQUENCES


def write_aligned(paths: dict, out: Path, pid: str, reference: str = "BRAVO") -> dict[str, Path]:
    """The patient's sequences (``phantom_paths``) resampled onto its
    ``reference`` grid by their true transforms, into ``out``."""
    truth = json.loads(Path(paths["transforms"]).read_text())
    ref = nib.load(str(paths[reference]))
    out.mkdir(parents=True, exist_ok=True)
    aligned = {}
    for seq in SEQUENCES:
        img = nib.load(str(paths[seq]))
        data = np.asarray(img.dataobj, np.float32)
        # The truth maps the sequence's world onto the reference's: the
        # reference's points are carried back into the sequence.
        to_moving = None if seq == reference else np.linalg.inv(np.asarray(truth[seq]["matrix"]))
        moved = resample_to_grid(data, img.affine, ref.shape, ref.affine, order=1, target_to_source=to_moving)
        aligned[seq] = out / f"sub-{pid}_{seq}.nii.gz"
        save_nifti(aligned[seq], moved.astype(np.float32), ref.affine)
    return aligned
