"""Metastases of the phantom: how many, how large, and where.

Counts follow the paper's lesion-count subgroups, diameters are log-normal
(small lesions most common) and lesions sit in parenchyma, supra- or
infratentorially, at the grey-white junction (cortical) or deeper
(subcortical), never touching each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..geometry import rotation_matrix
from .anatomy import PARENCHYMA, HeadModel, Tissue


@dataclass
class Lesion:
    lesion_id: int
    centre: np.ndarray  # head frame, mm
    semi_axes: np.ndarray  # mm
    rotation: np.ndarray  # 3x3, lesion frame to head frame
    region: str
    ring_enhancing: bool
    rim_mm: float
    oedema_factor: float  # oedema extends to this multiple of the lesion radius

    @property
    def nominal_diameter_mm(self) -> float:
        return float(2 * self.semi_axes.max())

    def rho(self, p: np.ndarray) -> np.ndarray:
        """Normalised ellipsoidal radius: < 1 inside the lesion."""
        local = (p - self.centre) @ self.rotation
        return np.sqrt(((local / self.semi_axes) ** 2).sum(-1))

    def summary(self) -> dict:
        d = asdict(self)
        d["centre"] = self.centre.round(3).tolist()
        d["semi_axes"] = self.semi_axes.round(3).tolist()
        d["rotation"] = self.rotation.round(6).tolist()
        return d


SUBGROUP_RANGES = {"1-3": (1, 3), "4-10": (4, 10), ">10": (11, None)}


def draw_lesion_count(rng: np.random.Generator, subgroup: str, max_lesions: int) -> int:
    lo, hi = SUBGROUP_RANGES[subgroup]
    if hi is not None:
        return int(rng.integers(lo, hi + 1))
    # Heavy tail: the paper's >10 group averages about 40 lesions.
    extra = int(np.floor(np.exp(rng.normal(np.log(18.0), 0.8))))
    return int(min(lo + extra, max(max_lesions, lo)))


def draw_diameters(rng, n: int, d_min: float, d_max: float, median: float, sigma: float) -> np.ndarray:
    d = np.exp(rng.normal(np.log(median), sigma, n))
    return np.sort(np.clip(d, d_min, d_max))[::-1]  # largest first: hardest to place


_SHELL = np.array([[sx, sy, sz] for sx in (-1, 0, 1) for sy in (-1, 0, 1) for sz in (-1, 0, 1) if (sx, sy, sz) != (0, 0, 0)], float)
_SHELL /= np.linalg.norm(_SHELL, axis=1, keepdims=True)


def _fits(head: HeadModel, centre, radius: float, margin_mm: float) -> bool:
    """The lesion and a margin around it lie in parenchyma."""
    probes = np.vstack([centre, centre + (radius + margin_mm) * _SHELL, centre + 0.5 * radius * _SHELL])
    return bool(np.isin(head.tissue(probes), PARENCHYMA).all())


def _candidate_centre(rng, head: HeadModel, region: str, radius: float):
    if region == "infratentorial":
        offset = rng.uniform(-1, 1, 3) * head.cerebellum_radii * np.array([0.8, 0.7, 0.6])
        return head.cerebellum_centre + offset
    unit = rng.normal(size=3)
    unit /= np.linalg.norm(unit)
    if unit[2] < -0.3:  # stay above the tentorium
        unit[2] = -unit[2]
    r_surface = float(head.brain_surface_radius(unit[None])[0])
    if region == "cortical":  # grey-white junction
        depth = head.cortex_mm + rng.uniform(0.0, 4.0) + radius * rng.uniform(0.3, 1.0)
    else:
        depth = rng.uniform(max(12.0, radius + 4.0), max(13.0, 0.6 * r_surface))
    return unit * (r_surface - depth)


def place_lesions(
    rng: np.random.Generator,
    head: HeadModel,
    diameters: np.ndarray,
    min_gap_mm: float,
    ring_threshold_mm: float = 10.0,
    region_probabilities=(0.55, 0.30, 0.15),
    max_tries: int = 400,
) -> list[Lesion]:
    """Place lesions of the given diameters without overlap.

    A lesion that cannot be placed after ``max_tries`` attempts is shrunk by
    10% and tried again, so the requested count is always met.
    """
    regions = ("cortical", "subcortical", "infratentorial")
    lesions: list[Lesion] = []
    for diameter in diameters:
        diameter = float(diameter)
        while True:
            placed = None
            for _ in range(max_tries):
                region = regions[rng.choice(3, p=region_probabilities)]
                elong = rng.uniform(0.85, 1.15, 3)
                semi = 0.5 * diameter * elong / elong.max()
                radius = float(semi.max())
                if region == "infratentorial" and radius > 14.0:
                    region = "subcortical"
                centre = _candidate_centre(rng, head, region, radius)
                if any(
                    np.linalg.norm(centre - other.centre) < radius + other.semi_axes.max() + min_gap_mm
                    for other in lesions
                ):
                    continue
                if not _fits(head, centre, radius, margin_mm=1.0):
                    continue
                placed = (centre, semi, region)
                break
            if placed is not None:
                break
            diameter *= 0.9
        centre, semi, region = placed
        ring = diameter >= ring_threshold_mm
        label = "infratentorial" if region == "infratentorial" else f"supratentorial {region}"
        lesions.append(
            Lesion(
                lesion_id=len(lesions) + 1,
                centre=np.asarray(centre, float),
                semi_axes=semi,
                rotation=rotation_matrix(rng.uniform(-180, 180, 3)),
                region=label,
                ring_enhancing=bool(ring),
                rim_mm=float(np.clip(0.15 * diameter, 1.5, 4.0)),
                oedema_factor=float(_oedema_factor(rng, diameter)),
            )
        )
    return lesions


def _oedema_factor(rng, diameter: float) -> float:
    """Vasogenic oedema grows with the lesion; small lesions have little."""
    if diameter > 10:
        return rng.uniform(1.3, 2.4)
    if diameter > 5:
        return rng.uniform(1.0, 1.6)
    return 1.0


def enhancement_and_oedema(lesion: Lesion, p: np.ndarray, tissue: np.ndarray, voxel_mm: float):
    """Per-point fractions of enhancing lesion, necrotic core and oedema.

    Edges are anti-aliased over one voxel so small lesions keep their
    partial-volume appearance.
    """
    rho = lesion.rho(p)
    radius = float(lesion.semi_axes.mean())
    lesion_frac = np.clip(0.5 - (rho - 1.0) * radius / voxel_mm, 0.0, 1.0)
    necrosis = np.zeros_like(rho)
    if lesion.ring_enhancing:
        core = 1.0 - lesion.rim_mm / radius
        necrosis = np.clip(0.5 - (rho - core) * radius / voxel_mm, 0.0, 1.0)
    oedema = (rho < lesion.oedema_factor) & np.isin(tissue, [int(t) for t in (Tissue.WM, Tissue.CEREBELLAR_WM, Tissue.BRAINSTEM)])
    return lesion_frac, necrosis, oedema.astype(float) * (1.0 - lesion_frac)
