"""Generate synthetic patients: images of four sequences plus exact ground truth."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..lesions import lesion_table
from ..niio import atomic_write_text, save_nifti
from ..sequences import REFERENCE_PREFERENCE, SEQUENCES, SUBGROUPS
from . import acquisition
from .anatomy import HeadModel
from .lesions import draw_diameters, draw_lesion_count, place_lesions

log = logging.getLogger(__name__)

# Every phantom patient has all four sequences: the truth lies on the first
# reference, the BRAVO.
TRUTH_GRID = REFERENCE_PREFERENCE[0]


@dataclass
class PhantomConfig:
    """Settings of the synthetic cohort: the defaults of config.yaml's
    ``phantom`` key, which the schema (schemas/config.schema.yaml) states
    and tests/phantom/test_settings.py holds these to."""

    n_patients: int = 18
    subgroup_proportions: tuple[float, float, float] = (0.41, 0.30, 0.29)
    resolution_scale: float = 2.0
    fraction_512: float = 0.1
    fraction_1p5t: float = 0.12
    max_rotation_deg: float = 8.0
    max_translation_mm: float = 10.0
    lesion_diameter_min_mm: float = 2.0
    lesion_diameter_max_mm: float = 40.0
    lesion_diameter_median_mm: float = 7.0
    lesion_diameter_sigma: float = 0.7
    max_lesions: int = 60
    ring_enhancing_min_mm: float = 10.0
    cortical_vessels: int = 24
    # analytic: the exact phantom (the paper's reproduction, the tests);
    # mni152: real anatomy with randomised contrast (brainmets.synthhead),
    # for models meant for real scans.
    anatomy: str = "analytic"
    # mni152 only: the share of tumours of 10 mm and more drawn as mixed
    # cores (patches of enhancing, necrotic and non-enhancing tumour).
    mixed_core_share: float = 0.0
    protocol: acquisition.Protocol = field(default_factory=acquisition.Protocol)

    @classmethod
    def from_dict(cls, d: dict) -> "PhantomConfig":
        d = dict(d)
        protocol = acquisition.Protocol(**{k: tuple(v) for k, v in d.pop("protocol", {}).items()})
        d["subgroup_proportions"] = tuple(d.get("subgroup_proportions", cls.subgroup_proportions))
        known = {f for f in cls.__dataclass_fields__}
        return cls(protocol=protocol, **{k: v for k, v in d.items() if k in known})


def patient_ids(n: int) -> list[str]:
    return [f"{i + 1:03d}" for i in range(n)]


def plan_subgroups(n: int, proportions, seed: int) -> dict[str, str]:
    """Assign each patient a lesion-count subgroup.

    Counts per subgroup follow ``proportions`` as closely as whole numbers
    allow (largest remainder), then are shuffled with the seed: a small
    cohort still has the paper's mix, which independent draws would not
    guarantee.
    """
    p = np.asarray(proportions, float)
    p = p / p.sum()
    counts = np.floor(p * n).astype(int)
    for i in np.argsort(-(p * n - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    groups = np.repeat(np.arange(len(SUBGROUPS)), counts)
    np.random.default_rng(np.random.SeedSequence([seed, 0xC0407])).shuffle(groups)
    return {pid: SUBGROUPS[g] for pid, g in zip(patient_ids(n), groups)}


def patient_seed_sequence(seed: int, patient_index: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed, patient_index])


def phantom_paths(out_dir: Path, pid: str) -> dict[str, Path]:
    """Every file one synthetic patient consists of, laid out in a folder
    as ``brainmets-phantom`` writes it (the workflow's rule phantom_patient
    names its own files)."""
    sub = f"sub-{pid}"
    anat = out_dir / "anat"
    truth = out_dir / "truth"
    paths = {seq: anat / f"{sub}_{seq}.nii.gz" for seq in SEQUENCES}
    paths.update(
        lesions=anat / f"{sub}_lesions.nii.gz",
        instances=truth / f"{sub}_desc-lesions_dseg.nii.gz",
        brain_mask=truth / f"{sub}_desc-brain_mask.nii.gz",
        lesion_table=truth / f"{sub}_lesions.tsv",
        transforms=truth / f"{sub}_transforms.json",
        metadata=out_dir / f"{sub}_phantom.json",
    )
    return paths


def write_truth(paths: dict, instances: np.ndarray, brain: np.ndarray, affine: np.ndarray, table, to_truth: dict) -> None:
    """A synthetic patient's ground truth: lesion mask and instances, brain
    mask, lesion table, and ``to_truth``, each other sequence's true
    transform onto the truth's grid (4x4, scanner RAS mm)."""
    save_nifti(paths["lesions"], (instances > 0).astype(np.uint8), affine)
    save_nifti(paths["instances"], instances, affine)
    save_nifti(paths["brain_mask"], brain.astype(np.uint8), affine)
    atomic_write_text(paths["lesion_table"], table.to_csv(sep="\t", index=False, float_format="%.4f"))
    transforms = {
        seq: {"from": seq, "to": TRUTH_GRID, "space": "scanner RAS, mm", "matrix": np.asarray(matrix).round(10).tolist()}
        for seq, matrix in to_truth.items()
    }
    atomic_write_text(paths["transforms"], json.dumps(transforms, indent=2))


@dataclass
class SimulatedPatient:
    """Everything drawn for one patient, before any image is rendered."""

    head: HeadModel
    vessels: list
    lesions: list
    grids: dict
    poses: dict  # head frame -> scanner, per sequence
    scanner: acquisition.ScannerSettings
    bravo_512: bool
    noise_rng: np.random.Generator


def simulate_patient(cfg: PhantomConfig, seed: int, patient_index: int, pid: str, subgroup: str) -> SimulatedPatient:
    """Draw anatomy, lesions, grids, head motion and scanner of one patient.

    Each aspect draws from its own random stream, so changing, say, the noise
    model leaves the anatomy and lesions of every patient unchanged.
    """
    anatomy_ss, lesion_ss, acquisition_ss, noise_ss = patient_seed_sequence(seed, patient_index).spawn(4)
    anatomy_rng = np.random.default_rng(anatomy_ss)
    lesion_rng = np.random.default_rng(lesion_ss)
    acq_rng = np.random.default_rng(acquisition_ss)
    noise_rng = np.random.default_rng(noise_ss)

    log.info("patient %s: anatomy", pid)
    head = HeadModel.random(anatomy_rng)
    vessels = acquisition.draw_vessels(anatomy_rng, head, cfg.cortical_vessels)

    bravo_512 = bool(acq_rng.random() < cfg.fraction_512)
    grids = acquisition.acquisition_grids(acq_rng, cfg.protocol, cfg.resolution_scale, bravo_512)
    poses = acquisition.head_poses(acq_rng, cfg.max_rotation_deg, cfg.max_translation_mm)
    scanner = acquisition.draw_scanner(acq_rng, cfg.fraction_1p5t)
    reference = grids[TRUTH_GRID]

    # Lesions must stay separate connected components and be visible on the
    # reference grid: a minimum size and gap of two voxels.
    two_voxels = 2.0 * float(reference.spacing.max())
    n_lesions = draw_lesion_count(lesion_rng, subgroup, cfg.max_lesions)
    diameters = draw_diameters(
        lesion_rng,
        n_lesions,
        max(cfg.lesion_diameter_min_mm, two_voxels),
        cfg.lesion_diameter_max_mm,
        cfg.lesion_diameter_median_mm,
        cfg.lesion_diameter_sigma,
    )
    log.info("patient %s: placing %d lesions (subgroup %s)", pid, n_lesions, subgroup)
    lesions = place_lesions(lesion_rng, head, diameters, min_gap_mm=two_voxels + 1.0, ring_threshold_mm=cfg.ring_enhancing_min_mm)
    return SimulatedPatient(head, vessels, lesions, grids, poses, scanner, bravo_512, noise_rng)


def generate_patient(cfg: PhantomConfig, seed: int, patient_index: int, pid: str, subgroup: str, files: dict) -> dict:
    """Simulate one patient and write its images and ground truth to
    ``files`` (the keys of ``phantom_paths``: the caller's names), on the
    anatomy ``cfg.anatomy`` names."""
    if cfg.anatomy == "mni152":
        from ..synthhead.generate import generate_template_patient  # imports this module

        return generate_template_patient(cfg, seed, patient_index, pid, subgroup, files)
    if cfg.anatomy != "analytic":
        raise ValueError(f"phantom.anatomy must be 'analytic' or 'mni152', not {cfg.anatomy!r}")
    return generate_analytic_patient(cfg, seed, patient_index, pid, subgroup, files)


def generate_analytic_patient(cfg: PhantomConfig, seed: int, patient_index: int, pid: str, subgroup: str, files: dict) -> dict:
    """The exact phantom: the analytic head (``anatomy.HeadModel``)."""
    paths = {key: Path(path) for key, path in files.items()}
    sim = simulate_patient(cfg, seed, patient_index, pid, subgroup)
    head, lesions, grids, poses, scanner = sim.head, sim.lesions, sim.grids, sim.poses, sim.scanner
    reference = grids[TRUTH_GRID]

    brain, instances, reference_tissue = acquisition.rasterise_truth(reference, poses[TRUTH_GRID], head, lesions)
    table = lesion_table(instances, reference.affine)
    if len(table) != len(lesions):
        raise RuntimeError(f"patient {pid}: {len(lesions) - len(table)} lesions fell between voxel centres")
    by_id = {les.lesion_id: les for les in lesions}
    table["region"] = [by_id[i].region for i in table.lesion_id]
    table["nominal_diameter_mm"] = [by_id[i].nominal_diameter_mm for i in table.lesion_id]
    table["ring_enhancing"] = [by_id[i].ring_enhancing for i in table.lesion_id]

    for seq in SEQUENCES:
        log.info("patient %s: acquiring %s %s", pid, seq, reference.shape if seq == TRUTH_GRID else grids[seq].shape)
        tissue = reference_tissue if seq == TRUTH_GRID else None
        image = acquisition.render_sequence(sim.noise_rng, seq, grids[seq], poses[seq], head, lesions, sim.vessels, scanner, tissue)
        save_nifti(paths[seq], image, grids[seq].affine)
    # True transforms, scanner (RAS mm) to scanner: a point x of a sequence's
    # space lies at T @ x in the reference space.
    to_truth = {seq: poses[TRUTH_GRID] @ np.linalg.inv(poses[seq]) for seq in SEQUENCES if seq != TRUTH_GRID}
    write_truth(paths, instances, brain, reference.affine, table, to_truth)
    metadata = {
        "patient_id": pid,
        "seed": seed,
        "patient_index": patient_index,
        "subgroup": subgroup,
        "n_lesions": len(table),
        "field_strength_t": scanner.field_strength_t,
        "bravo_512": sim.bravo_512,
        "grids": {s: {"shape": list(g.shape), "spacing_mm": g.spacing.round(4).tolist()} for s, g in grids.items()},
        "head_poses": {s: m.round(10).tolist() for s, m in poses.items()},
        "scanner": asdict(scanner),
        "lesions": [les.summary() for les in lesions],
    }
    atomic_write_text(paths["metadata"], json.dumps(metadata, indent=2))
    return metadata
