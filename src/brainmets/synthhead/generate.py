"""One synthetic patient from real anatomy, written as the phantom writes
its patients (``brainmets.phantom.generate.phantom_paths``), so the
workflow's rule phantom_patient can make either."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ..lesions import lesion_table
from ..niio import atomic_write_text, save_nifti
from ..phantom.generate import TRUTH_GRID, PhantomConfig, patient_seed_sequence, write_truth
from ..phantom.lesions import draw_diameters, draw_lesion_count
from ..sequences import SEQUENCES
from . import appearance
from .head import draw_head
from .template import TEMPLATE_FILES, load_template
from .tumours import paint_tumours, place_tumours

log = logging.getLogger(__name__)

# Share of heads with skull and scalp (the rest skull-stripped, as BraTS).
SKULL_PROBABILITY = 0.5


def generate_template_patient(cfg: PhantomConfig, seed: int, patient_index: int, pid: str, subgroup: str, files: dict) -> dict:
    """Draw one patient on the MNI152 anatomy and write its four sequences
    (all on one grid, co-registered) and its truth to ``files``."""
    paths = {key: Path(path) for key, path in files.items()}
    anatomy_ss, lesion_ss, acquisition_ss = patient_seed_sequence(seed, patient_index).spawn(3)
    anatomy_rng, lesion_rng, acq_rng = (np.random.default_rng(s) for s in (anatomy_ss, lesion_ss, acquisition_ss))

    log.info("patient %s: MNI152 anatomy, deformed", pid)
    head = draw_head(anatomy_rng, load_template(), spacing_mm=float(cfg.resolution_scale), skull_probability=SKULL_PROBABILITY)
    two_voxels = 2.0 * float(head.grid.spacing.max())
    n_lesions = draw_lesion_count(lesion_rng, subgroup, cfg.max_lesions)
    diameters = draw_diameters(
        lesion_rng, n_lesions, max(cfg.lesion_diameter_min_mm, two_voxels), cfg.lesion_diameter_max_mm,
        cfg.lesion_diameter_median_mm, cfg.lesion_diameter_sigma,
    )
    log.info("patient %s: placing %d tumours (subgroup %s)", pid, n_lesions, subgroup)
    tumours = place_tumours(lesion_rng, head, diameters, min_gap_mm=two_voxels + 1.0, mixed_share=cfg.mixed_core_share)
    maps = paint_tumours(lesion_rng, head, tumours)
    vessels = appearance.draw_vessels(anatomy_rng, head, cfg.cortical_vessels)
    contrast = appearance.draw_contrast(acq_rng)

    table = lesion_table(maps.instances, head.grid.affine)
    if len(table) != len(tumours):
        raise RuntimeError(f"patient {pid}: {len(tumours) - len(table)} tumours have no voxel on the {head.grid.spacing.max():.1f} mm grid")
    by_id = {t.lesion_id: t for t in tumours}
    table["kind"] = [by_id[i].kind for i in table.lesion_id]
    table["nominal_diameter_mm"] = [by_id[i].diameter_mm for i in table.lesion_id]
    table["ring_enhancing"] = [by_id[i].kind in ("ring", "necrotic") for i in table.lesion_id]

    acquisitions = {}
    for seq in SEQUENCES:
        log.info("patient %s: acquiring %s %s", pid, seq, head.grid.shape)
        image, acquisitions[seq] = appearance.render(acq_rng, seq, head, maps, vessels, contrast)
        save_nifti(paths[seq], image, head.grid.affine)
    # Every sequence shares the truth's grid: the true transforms are identities.
    identity = {seq: np.eye(4) for seq in SEQUENCES if seq != TRUTH_GRID}
    write_truth(paths, maps.instances, head.brain | (maps.instances > 0), head.grid.affine, table, identity)
    metadata = {
        "patient_id": pid,
        "seed": seed,
        "patient_index": patient_index,
        "subgroup": subgroup,
        "anatomy": "mni152",
        "template": sorted(TEMPLATE_FILES.values()),
        "n_lesions": len(table),
        "skull_on": head.skull_on,
        "grid": {"shape": list(head.grid.shape), "spacing_mm": head.grid.spacing.round(4).tolist()},
        "contrast": {seq: {k: round(v, 4) for k, v in values.items()} for seq, values in contrast.items()},
        "acquisition": acquisitions,
        "lesions": [t.summary() for t in tumours],
    }
    atomic_write_text(paths["metadata"], json.dumps(metadata, indent=2))
    return metadata
