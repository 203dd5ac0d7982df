"""How the scanner sees the phantom: grids, head motion, contrast, bias, noise.

Grids follow the paper's protocol (Table 2): an axial BRAVO and sagittal CUBE
and FLAIR volumes with their own shapes, spacings and orientations. Each
sequence is acquired with the head in its own pose (rigid motion between
scans), so every non-reference sequence must be co-registered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..geometry import Grid, apply, rigid, rotation_matrix
from ..sequences import SEQUENCES
from .anatomy import HeadModel, Tissue
from .lesions import Lesion, enhancement_and_oedema

# Relative signal (white matter = 1) of each tissue on each sequence.
# Columns: T1pre, T1gd, BRAVO, FLAIR.
_CONTRAST = {
    Tissue.AIR: (0.0, 0.0, 0.0, 0.0),
    Tissue.MUSCLE: (0.55, 0.6, 0.5, 0.5),
    Tissue.FAT: (1.3, 1.3, 1.15, 0.95),
    Tissue.SKULL: (0.05, 0.05, 0.05, 0.05),
    Tissue.DIPLOE: (0.9, 0.9, 0.8, 0.7),
    Tissue.DURA: (0.4, 0.8, 0.75, 0.5),
    Tissue.CSF: (0.25, 0.27, 0.12, 0.08),
    Tissue.GM: (0.72, 0.74, 0.62, 1.15),
    Tissue.WM: (1.0, 1.0, 1.0, 1.0),
    Tissue.DEEP_GM: (0.8, 0.82, 0.75, 1.1),
    Tissue.CEREBELLAR_GM: (0.7, 0.72, 0.6, 1.1),
    Tissue.CEREBELLAR_WM: (0.95, 0.95, 0.95, 1.0),
    Tissue.BRAINSTEM: (0.9, 0.9, 0.9, 1.05),
    Tissue.VESSEL: (0.45, 1.45, 1.7, 0.3),
}
CONTRAST = np.array([_CONTRAST[t] for t in Tissue], dtype=np.float32)  # (tissue, sequence)
LESION = dict(T1pre=0.65, T1gd=1.5, BRAVO=1.65, FLAIR=1.25)
NECROSIS = dict(T1pre=0.35, T1gd=0.35, BRAVO=0.3, FLAIR=0.9)
OEDEMA = dict(T1pre=0.75, T1gd=0.76, BRAVO=0.72, FLAIR=1.6)


@dataclass
class Protocol:
    """Matrix sizes (full resolution) and voxel sizes of the acquisition."""

    bravo_matrix: tuple[int, int, int] = (256, 256, 160)
    bravo_spacing: tuple[float, float, float] = (0.9375, 0.9375, 1.0)
    cube_matrix: tuple[int, int, int] = (256, 256, 176)
    cube_spacing: tuple[float, float, float] = (0.977, 0.977, 1.0)
    flair_inplane: tuple[int, int] = (256, 256)
    flair_inplane_spacing: float = 0.9375
    flair_slice_mm: tuple[float, float] = (1.0, 1.6)
    flair_coverage_mm: float = 180.0


def _grid(matrix, spacing, axes: np.ndarray, centre, tilt_deg) -> Grid:
    """A grid whose array axes point along the columns of ``axes`` (unit,
    signed), tilted by ``tilt_deg`` and centred on ``centre``."""
    lin = rotation_matrix(tilt_deg) @ axes @ np.diag(spacing)
    affine = np.eye(4)
    affine[:3, :3] = lin
    affine[:3, 3] = np.asarray(centre) - lin @ ((np.asarray(matrix) - 1) / 2.0)
    return Grid(tuple(int(m) for m in matrix), affine)


# Axis conventions: BRAVO array axes run R->L, P->A, I->S (LAS, as stored by
# many converters); sagittal CUBE/FLAIR run A->P, S->I, R... (PIR). Neither is
# the identity, so orientation bugs cannot hide.
_AXIAL = np.array([[-1.0, 0, 0], [0, 1, 0], [0, 0, 1]])
_SAGITTAL = np.array([[0, 0, 1.0], [-1, 0, 0], [0, -1, 0]])


def acquisition_grids(rng, protocol: Protocol, scale: float, bravo_512: bool) -> dict[str, Grid]:
    """Grids of the four sequences; ``scale`` > 1 coarsens every grid
    (voxel sizes times ``scale``, matrices divided by it) for fast runs."""

    def scaled(matrix, spacing):
        m = np.maximum(np.round(np.asarray(matrix) / scale), 4).astype(int)
        s = np.asarray(spacing) * np.asarray(matrix) / m
        return m, s

    bravo_matrix = np.array(protocol.bravo_matrix)
    bravo_spacing = np.array(protocol.bravo_spacing, float)
    if bravo_512:  # zero-filled 512x512 reconstruction
        bravo_matrix[:2] *= 2
        bravo_spacing[:2] /= 2
    grids = {}
    centre = np.array([0.0, 0.0, -5.0])
    m, s = scaled(bravo_matrix, bravo_spacing)
    grids["BRAVO"] = _grid(m, s, _AXIAL, centre + rng.uniform(-3, 3, 3), rng.uniform(-4, 4, 3) * [1, 0.3, 0.3])
    for seq in ("T1pre", "T1gd"):
        m, s = scaled(protocol.cube_matrix, protocol.cube_spacing)
        grids[seq] = _grid(m, s, _SAGITTAL, centre + rng.uniform(-3, 3, 3), rng.uniform(-4, 4, 3) * [0.3, 0.3, 1])
    slice_mm = rng.uniform(*protocol.flair_slice_mm)
    n_slices = int(round(protocol.flair_coverage_mm / slice_mm))
    m, s = scaled((*protocol.flair_inplane, n_slices), (protocol.flair_inplane_spacing,) * 2 + (slice_mm,))
    grids["FLAIR"] = _grid(m, s, _SAGITTAL, centre + rng.uniform(-3, 3, 3), rng.uniform(-4, 4, 3) * [0.3, 0.3, 1])
    return {seq: grids[seq] for seq in SEQUENCES}


def head_poses(rng, max_rotation_deg: float, max_translation_mm: float) -> dict[str, np.ndarray]:
    """Head-to-scanner rigid transform of each acquisition: the patient
    moves between scans."""
    return {
        seq: rigid(
            rng.uniform(-max_rotation_deg, max_rotation_deg, 3),
            rng.uniform(-max_translation_mm, max_translation_mm, 3),
        )
        for seq in SEQUENCES
    }


@dataclass
class Vessel:
    """A cortical vessel: a chain of tube segments in the head frame."""

    nodes: np.ndarray  # (K, 3)
    radius_mm: float


def draw_vessels(rng, head: HeadModel, n: int) -> list[Vessel]:
    vessels = []
    for _ in range(n):
        unit = rng.normal(size=3)
        unit[2] = abs(unit[2]) - 0.2
        unit /= np.linalg.norm(unit)
        tangent = np.cross(unit, rng.normal(size=3))
        tangent /= np.linalg.norm(tangent)
        depth = rng.uniform(-0.5, 2.5)
        nodes = []
        direction = unit.copy()
        for _ in range(5):
            r = float(head.brain_surface_radius(direction[None])[0]) - depth
            nodes.append(direction * r)
            direction = direction + tangent * rng.uniform(0.08, 0.16) + rng.normal(0, 0.03, 3)
            direction /= np.linalg.norm(direction)
        vessels.append(Vessel(np.array(nodes), float(rng.uniform(0.6, 1.3))))
    return vessels


def _segment_distance(p, a, b):
    ab = b - a
    t = np.clip(((p - a) @ ab) / (ab @ ab), 0, 1)
    return np.linalg.norm(p - (a + t[:, None] * ab), axis=1)


def bias_field(rng, grid: Grid, strength: float) -> np.ndarray:
    """Smooth multiplicative receive-coil bias in scanner coordinates:
    the exponential of a random quadratic polynomial."""
    c = rng.normal(0, strength, 9)
    u = (grid.frame_points(grid.affine) / 100.0).astype(np.float32)
    x, y, z = u[:, 0], u[:, 1], u[:, 2]
    log_bias = c[0] * x + c[1] * y + c[2] * z + c[3] * x * x + c[4] * y * y + c[5] * z * z + c[6] * x * y + c[7] * y * z + c[8] * x * z
    return np.exp(log_bias).reshape(grid.shape)


@dataclass
class ScannerSettings:
    field_strength_t: float
    scale: dict[str, float]  # per sequence: signal of white matter
    noise: dict[str, float]  # per sequence: Rician sigma relative to white matter
    bias_strength: float = 0.1


def draw_scanner(rng, p_1p5t: float) -> ScannerSettings:
    is_1p5 = rng.random() < p_1p5t
    base = rng.uniform(250, 700) if is_1p5 else rng.uniform(600, 1500)
    return ScannerSettings(
        field_strength_t=1.5 if is_1p5 else 3.0,
        scale={s: float(base * rng.uniform(0.7, 1.3)) for s in SEQUENCES},
        noise={s: float(rng.uniform(0.03, 0.05) if is_1p5 else rng.uniform(0.015, 0.03)) for s in SEQUENCES},
    )


def render_sequence(
    rng,
    seq: str,
    grid: Grid,
    pose: np.ndarray,
    head: HeadModel,
    lesions: list[Lesion],
    vessels: list[Vessel],
    scanner: ScannerSettings,
    tissue: np.ndarray | None = None,
) -> np.ndarray:
    """Acquire one sequence: an int16 magnitude image on ``grid``.

    ``tissue``, the tissue classes on this grid in this pose, is computed
    when not given."""
    col = SEQUENCES.index(seq)
    vox_to_head = np.linalg.inv(pose) @ grid.affine
    nx, ny, nz = grid.shape
    if tissue is None:
        tissue = tissue_map(grid, pose, head)
    signal = np.empty(grid.shape, np.float32)
    for k0, k1 in _slabs(grid):
        p = grid.frame_points(vox_to_head, k0, k1)
        t = tissue[:, :, k0:k1].ravel()
        signal[:, :, k0:k1] = (CONTRAST[t, col] * head.texture_at(p)).reshape(nx, ny, k1 - k0)

    voxel_mm = float(grid.spacing.mean())
    for vessel in vessels:
        for a, b in zip(vessel.nodes[:-1], vessel.nodes[1:]):
            box = grid.index_box(vox_to_head, (a + b) / 2, np.linalg.norm(b - a) / 2 + vessel.radius_mm + voxel_mm)
            if box is None:
                continue
            sl = tuple(slice(lo, hi) for lo, hi in zip(*box))
            p = apply(vox_to_head, grid.box_points(*box))
            frac = np.clip(0.5 - (_segment_distance(p, a, b) - vessel.radius_mm) / voxel_mm, 0, 1).reshape(signal[sl].shape)
            signal[sl] = signal[sl] * (1 - frac) + CONTRAST[Tissue.VESSEL, col] * frac

    for lesion in lesions:
        box = grid.index_box(vox_to_head, lesion.centre, lesion.semi_axes.max() * max(lesion.oedema_factor, 1.0) + voxel_mm)
        if box is None:
            continue
        sl = tuple(slice(lo, hi) for lo, hi in zip(*box))
        p = apply(vox_to_head, grid.box_points(*box))
        frac, necrosis, oedema = enhancement_and_oedema(lesion, p, tissue[sl].ravel(), voxel_mm)
        shape = signal[sl].shape
        texture = head.texture_at(p)
        base = signal[sl].ravel()
        base = base * (1 - oedema) + OEDEMA[seq] * texture * oedema
        enhancing = LESION[seq] * texture * (1 - necrosis) + NECROSIS[seq] * necrosis
        signal[sl] = (base * (1 - frac) + enhancing * frac).reshape(shape)

    # Point-spread function: partial volume in-plane and the slice profile.
    signal = ndimage.gaussian_filter(signal, sigma=(0.5, 0.5, 0.6), mode="nearest")
    signal *= bias_field(rng, grid, scanner.bias_strength)
    scale = scanner.scale[seq]
    sigma = scanner.noise[seq]
    return rician_magnitude(rng, signal, sigma, scale)


def rician_magnitude(rng, signal: np.ndarray, sigma: float, scale: float) -> np.ndarray:
    """The int16 magnitude image of ``signal`` with complex Gaussian noise of
    ``sigma`` (Rician in the magnitude), at ``scale`` per unit of signal."""
    real = signal + rng.normal(0, sigma, signal.shape).astype(np.float32)
    imag = rng.normal(0, sigma, signal.shape).astype(np.float32)
    magnitude = np.sqrt(real * real + imag * imag) * scale
    return np.clip(np.round(magnitude), 0, np.iinfo(np.int16).max).astype(np.int16)


def _slabs(grid: Grid, max_voxels: int = 1_000_000):
    """Bounds of slabs along the last axis, to bound memory on large grids."""
    step = max(1, max_voxels // (grid.shape[0] * grid.shape[1]))
    return [(k0, min(grid.shape[2], k0 + step)) for k0 in range(0, grid.shape[2], step)]


def tissue_map(grid: Grid, pose: np.ndarray, head: HeadModel, brain: np.ndarray | None = None) -> np.ndarray:
    """Tissue classes at the voxel centres of ``grid`` with the head in
    ``pose``; fills ``brain`` with the ground-truth brain mask if given."""
    vox_to_head = np.linalg.inv(pose) @ grid.affine
    nx, ny, _ = grid.shape
    tissue = np.empty(grid.shape, np.uint8)
    for k0, k1 in _slabs(grid):
        p = grid.frame_points(vox_to_head, k0, k1)
        t = head.tissue(p)
        tissue[:, :, k0:k1] = t.reshape(nx, ny, k1 - k0)
        if brain is not None:
            brain[:, :, k0:k1] = head.brain_mask(p, t).reshape(nx, ny, k1 - k0)
    return tissue


def rasterise_truth(grid: Grid, pose: np.ndarray, head: HeadModel, lesions: list[Lesion]):
    """Brain mask, lesion instance labels and tissue classes at the voxel
    centres of ``grid``."""
    vox_to_head = np.linalg.inv(pose) @ grid.affine
    brain = np.empty(grid.shape, bool)
    tissue = tissue_map(grid, pose, head, brain)
    labels = np.zeros(grid.shape, np.int16)
    for lesion in lesions:
        box = grid.index_box(vox_to_head, lesion.centre, lesion.semi_axes.max() + 1.0)
        if box is None:
            continue
        sl = tuple(slice(lo, hi) for lo, hi in zip(*box))
        inside = (lesion.rho(apply(vox_to_head, grid.box_points(*box))) < 1.0).reshape(labels[sl].shape)
        labels[sl][inside] = lesion.lesion_id
    return brain, labels, tissue
