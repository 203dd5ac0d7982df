"""Tumours inserted into a synthetic head: solid, ring-enhancing, necrotic,
non-enhancing or mixed cores with irregular edges, and oedema that spreads
in white matter. The truth is the tumour core (enhancing and necrotic or
non-enhancing parts), as the BraTS tumour core and the paper's masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..geometry import rotation_matrix
from .head import Head

# Kinds of tumour core by size: (kind, probability) at least 10 mm across,
# and below.
LARGE_KINDS = (("ring", 0.35), ("solid", 0.2), ("necrotic", 0.2), ("non-enhancing", 0.25))
SMALL_KINDS = (("solid", 0.92), ("non-enhancing", 0.08))
LARGE_MM = 10.0
# A mixed core: patches of enhancing, necrotic and non-enhancing tumour cut
# from a smooth random field (large gliomas and some metastases: dark on the
# T1gd with faint, patchy enhancement). Per tumour, the share that enhances
# and the share that is necrotic are drawn in these ranges.
MIXED_ENHANCING_SHARE = (0.05, 0.4)
MIXED_NECROTIC_SHARE = (0.1, 0.6)


@dataclass
class Tumour:
    lesion_id: int
    centre_voxel: np.ndarray
    diameter_mm: float
    kind: str
    rim_mm: float
    oedema_factor: float  # oedema reaches this multiple of the core's radius
    irregularity: float  # relative amplitude of the edge's bumps
    elongation: np.ndarray  # semi-axes relative to the longest
    rotation: np.ndarray

    def summary(self) -> dict:
        return {
            "lesion_id": self.lesion_id,
            "centre_voxel": self.centre_voxel.round(2).tolist(),
            "nominal_diameter_mm": round(self.diameter_mm, 3),
            "kind": self.kind,
            "rim_mm": round(self.rim_mm, 3),
            "oedema_factor": round(self.oedema_factor, 3),
            "irregularity": round(self.irregularity, 3),
        }


def _kind(rng, diameter: float, mixed_share: float = 0.0) -> str:
    kinds = SMALL_KINDS
    if diameter >= LARGE_MM:
        # "mixed" goes last: with a share of 0 the same uniform draw picks
        # the same kind as before it existed.
        kinds = tuple((name, p * (1.0 - mixed_share)) for name, p in LARGE_KINDS) + (("mixed", mixed_share),)
    names, p = zip(*kinds)
    return str(names[rng.choice(len(names), p=np.asarray(p) / sum(p))])


def place_tumours(rng: np.random.Generator, head: Head, diameters: np.ndarray, min_gap_mm: float, max_tries: int = 300, mixed_share: float = 0.0) -> list[Tumour]:
    """Centres in parenchyma, each core inside the brain and apart from the
    others; a tumour that finds no room is shrunk by 10 % and tried again.
    ``mixed_share`` of the tumours of at least LARGE_MM are mixed cores."""
    spacing = float(head.grid.spacing.mean())
    depth_mm = ndimage.distance_transform_edt(head.brain) * spacing
    candidates = np.argwhere((head.parenchyma > 0.8) & (depth_mm > 2 * spacing))
    tumours: list[Tumour] = []
    for diameter in np.asarray(diameters, float):
        while True:
            radius = 0.5 * diameter
            # The bumps reach up to a quarter beyond the nominal radius.
            reach = 1.25 * radius
            placed = None
            for _ in range(max_tries):
                centre = candidates[rng.integers(len(candidates))].astype(float)
                if depth_mm[tuple(centre.astype(int))] < 0.7 * radius:
                    continue
                if any(np.linalg.norm((centre - t.centre_voxel) * spacing) < reach + 0.625 * t.diameter_mm + min_gap_mm for t in tumours):
                    continue
                placed = centre
                break
            if placed is not None:
                break
            diameter *= 0.9
        kind = _kind(rng, diameter, mixed_share)
        large = diameter >= LARGE_MM
        elongation = rng.uniform(0.75, 1.0, 3)
        tumours.append(
            Tumour(
                lesion_id=len(tumours) + 1,
                centre_voxel=placed,
                diameter_mm=float(diameter),
                kind=kind,
                rim_mm=float(rng.uniform(1.0, 2.5) if kind == "necrotic" else np.clip(rng.uniform(0.12, 0.25) * diameter, 1.5, 5.0)),
                oedema_factor=float(rng.uniform(1.3, 3.0) if large else rng.uniform(1.0, 1.8)),
                irregularity=float(rng.uniform(0.05, 0.3) if large else rng.uniform(0.0, 0.1)),
                elongation=elongation / elongation.max(),
                rotation=rotation_matrix(rng.uniform(-180, 180, 3)),
            )
        )
    return tumours


def _mixed_core(rng: np.random.Generator, core: np.ndarray, radius_voxels: float) -> tuple[np.ndarray, np.ndarray]:
    """Enhancing and necrotic fractions of a mixed core (``core``: its
    voxels in the box): the field's highest values in the core enhance, its
    lowest are necrotic, the rest is non-enhancing tumour; patches about a
    third of the radius across, edges over about a voxel."""
    field = ndimage.gaussian_filter(rng.normal(size=core.shape).astype(np.float32), max(1.0, 0.3 * radius_voxels))
    field = (field - field.mean()) / max(float(field.std()), 1e-6)
    enhancing_share, necrotic_share = rng.uniform(*MIXED_ENHANCING_SHARE), rng.uniform(*MIXED_NECROTIC_SHARE)
    inside = field[core] if core.any() else field.ravel()
    high, low = np.quantile(inside, 1.0 - enhancing_share), np.quantile(inside, necrotic_share)
    slope = 2.0 * max(1.0, 0.3 * radius_voxels)  # about one voxel from 0 to 1
    enh = np.clip(0.5 + (field - high) * slope, 0.0, 1.0)
    necrosis = np.clip(0.5 - (field - low) * slope, 0.0, 1.0) * (1.0 - enh)
    return enh, necrosis


@dataclass
class TumourMaps:
    """Fractions (0-1) on the head's grid, and the core's instance labels."""

    core: np.ndarray
    enhancing: np.ndarray  # share of the core that enhances
    necrotic: np.ndarray  # share of the core that is necrotic (the rest: non-enhancing tumour)
    oedema: np.ndarray
    instances: np.ndarray  # int16, 0 outside every core


def paint_tumours(rng: np.random.Generator, head: Head, tumours: list[Tumour]) -> TumourMaps:
    shape = head.grid.shape
    spacing = float(head.grid.spacing.mean())
    core = np.zeros(shape, np.float32)
    enhancing = np.zeros(shape, np.float32)
    necrotic = np.zeros(shape, np.float32)
    oedema = np.zeros(shape, np.float32)
    instances = np.zeros(shape, np.int16)
    white = np.clip(head.tissues["wm"] + 0.3 * head.tissues["gm"], 0.0, 1.0)
    for t in tumours:
        radius = 0.5 * t.diameter_mm
        half = int(np.ceil((1.3 * radius * max(t.oedema_factor, 1.0)) / spacing)) + 2
        lo = np.maximum(t.centre_voxel.astype(int) - half, 0)
        hi = np.minimum(t.centre_voxel.astype(int) + half + 1, shape)
        box = tuple(slice(a, b) for a, b in zip(lo, hi))
        ijk = np.indices(tuple(hi - lo), dtype=np.float32).reshape(3, -1).T + lo
        local = ((ijk - t.centre_voxel) * spacing) @ t.rotation
        rho = np.sqrt(((local / (radius * t.elongation)) ** 2).sum(-1)).reshape(tuple(hi - lo))
        bumps = ndimage.gaussian_filter(rng.normal(size=rho.shape).astype(np.float32), max(1.0, 0.3 * radius / spacing))
        bumps /= max(float(bumps.std()), 1e-6)
        rho = rho * (1.0 + t.irregularity * np.clip(bumps, -2.5, 2.5) / 2.5)
        edge = radius / spacing  # anti-aliasing over one voxel
        inside = np.clip(0.5 - (rho - 1.0) * edge, 0.0, 1.0) * head.brain[box]
        if t.kind in ("ring", "necrotic"):
            hollow = 1.0 - t.rim_mm / radius
            necrosis = np.clip(0.5 - (rho - hollow) * edge, 0.0, 1.0)
            enh = 1.0 - necrosis
        elif t.kind == "non-enhancing":
            enh, necrosis = np.zeros_like(rho), np.zeros_like(rho)
        elif t.kind == "mixed":
            enh, necrosis = _mixed_core(rng, inside >= 0.5, radius / spacing)
        else:
            enh, necrosis = np.ones_like(rho), np.zeros_like(rho)
        swelling = np.clip((t.oedema_factor - rho) / 0.3, 0.0, 1.0) * white[box] * (1.0 - inside)
        mask = inside >= 0.5
        labels, n = ndimage.label(mask, structure=np.ones((3, 3, 3)))
        if n > 1:  # bumps can cut off a sliver: keep the tumour one piece
            mask = labels == 1 + int(np.argmax(ndimage.sum(mask, labels, range(1, n + 1))))
        instances[box][mask & (instances[box] == 0)] = t.lesion_id
        nearer = inside > core[box]
        enhancing[box] = np.where(nearer, enh, enhancing[box])
        necrotic[box] = np.where(nearer, necrosis, necrotic[box])
        core[box] = np.maximum(core[box], inside)
        oedema[box] = np.maximum(oedema[box], swelling)
    return TumourMaps(core=core, enhancing=enhancing, necrotic=necrotic, oedema=oedema * (1.0 - core), instances=instances)
