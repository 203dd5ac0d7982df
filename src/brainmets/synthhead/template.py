"""The MNI152 2009 templates that nilearn ships: a real brain's grey and
white matter probability maps and its T1, at 1 mm."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nibabel as nib
import numpy as np

TEMPLATE_FILES = {
    "gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
    "wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
    "t1": "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
}


def template_folder() -> Path:
    """nilearn's bundled data folder, found without importing nilearn (whose
    import pulls in scikit-learn and takes seconds)."""
    spec = importlib.util.find_spec("nilearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("phantom.anatomy 'mni152' needs the MNI152 templates shipped in nilearn: pip install 'nilearn<0.14'")
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    missing = [name for name in TEMPLATE_FILES.values() if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"nilearn at {folder} lacks the MNI152 templates {missing}: reinstall nilearn")
    return folder


@dataclass(frozen=True)
class TemplateAnatomy:
    """Tissue fractions (0-1, float32) on the template's 1 mm grid."""

    gm: np.ndarray
    wm: np.ndarray
    brain: np.ndarray  # inside the brain (parenchyma and the CSF around it)
    affine: np.ndarray

    @property
    def csf(self) -> np.ndarray:
        return np.clip(self.brain - self.gm - self.wm, 0.0, 1.0)


@lru_cache(maxsize=1)
def load_template() -> TemplateAnatomy:
    folder = template_folder()
    images = {key: nib.load(folder / name) for key, name in TEMPLATE_FILES.items()}
    affine = images["t1"].affine
    gm = np.asarray(images["gm"].dataobj, np.float32) / 255.0
    wm = np.asarray(images["wm"].dataobj, np.float32) / 255.0
    # The T1 is brain-extracted: non-zero inside the brain and its CSF.
    brain = (np.asarray(images["t1"].dataobj) > 0).astype(np.float32)
    brain = np.maximum(brain, np.clip(gm + wm, 0.0, 1.0))
    return TemplateAnatomy(gm=gm, wm=wm, brain=brain, affine=affine)
