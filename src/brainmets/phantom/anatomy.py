"""An analytic head: tissue classes as functions of position in the head frame.

The head frame is RAS in mm with its origin at the centre of the cerebrum.
Every structure is a closed-form function of position, so any voxel grid in
any pose can be rendered without resampling, and ground truth is exact.

Shapes that vary with direction (the brain surface, the cortical folding,
sulcal depth) are random fields on the unit sphere, tabulated once per
patient on a latitude-longitude grid and looked up by interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from scipy import ndimage


class Tissue(IntEnum):
    AIR = 0
    MUSCLE = 1  # skin, muscle and other soft tissue of scalp and neck
    FAT = 2
    SKULL = 3
    DIPLOE = 4  # fatty marrow between the skull tables
    DURA = 5
    CSF = 6
    GM = 7
    WM = 8
    DEEP_GM = 9
    CEREBELLAR_GM = 10
    CEREBELLAR_WM = 11
    BRAINSTEM = 12
    VESSEL = 13  # dural sinuses and cortical vessels (enhance after Gd)


# Parenchyma in which metastases grow and vasogenic oedema spreads.
PARENCHYMA = (Tissue.GM, Tissue.WM, Tissue.DEEP_GM, Tissue.CEREBELLAR_GM, Tissue.CEREBELLAR_WM, Tissue.BRAINSTEM)
OEDEMA_TISSUES = (Tissue.WM, Tissue.CEREBELLAR_WM, Tissue.BRAINSTEM, Tissue.DEEP_GM)

_LAT, _LON = 361, 720  # 0.5 degree tables


def _sphere_field(rng, n_waves: int, wavenumber: tuple[float, float]):
    """A random smooth field on the unit sphere: a sum of plane waves."""
    k = rng.normal(size=(n_waves, 3))
    k /= np.linalg.norm(k, axis=1, keepdims=True)
    k *= rng.uniform(*wavenumber, size=(n_waves, 1))
    phase = rng.uniform(0, 2 * np.pi, n_waves)
    amp = rng.uniform(0.5, 1.0, n_waves)
    return k, phase, amp


def _table_directions():
    theta = np.linspace(0, np.pi, _LAT)
    phi = np.linspace(-np.pi, np.pi, _LON, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    return np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1).astype(np.float32)


def _unit_variance(a: np.ndarray) -> np.ndarray:
    return (a - a.mean()) / a.std()


def _tabulate(field, dirs):
    """Values and tangential gradient norms of a plane-wave field on ``dirs``."""
    k, phase, amp = (np.asarray(a, np.float32) for a in field)
    arg = dirs @ k.T + phase
    value = (np.cos(arg) * amp).sum(-1) / np.sqrt((amp**2).sum() / 2)
    grad = -(np.sin(arg) * amp) @ k / np.sqrt((amp**2).sum() / 2)
    grad_tangent = grad - (grad * dirs).sum(-1, keepdims=True) * dirs
    return value, np.linalg.norm(grad_tangent, axis=-1)


def _lookup(table: np.ndarray, unit: np.ndarray) -> np.ndarray:
    theta = np.arccos(np.clip(unit[:, 2], -1, 1)) * (_LAT - 1) / np.pi
    phi = (np.arctan2(unit[:, 1], unit[:, 0]) + np.pi) * _LON / (2 * np.pi)
    return ndimage.map_coordinates(table, [theta, phi], order=1, mode="grid-wrap")


def _ellipsoid_rho(p: np.ndarray, centre, radii) -> np.ndarray:
    q = ((p[:, 0] - centre[0]) / radii[0]) ** 2
    q += ((p[:, 1] - centre[1]) / radii[1]) ** 2
    q += ((p[:, 2] - centre[2]) / radii[2]) ** 2
    return np.sqrt(q)


def _ray_to_ellipsoid(unit: np.ndarray, centre, radii) -> np.ndarray:
    """Distance from the origin along ``unit`` to the far side of an
    ellipsoid (0 where the ray misses it)."""
    c = np.asarray(centre) / radii
    d = unit / radii
    a = (d**2).sum(-1)
    b = -2 * (d @ c)
    cc = (c**2).sum() - 1
    disc = b**2 - 4 * a * cc
    root = (-b + np.sqrt(np.maximum(disc, 0))) / (2 * a)
    return np.where(disc > 0, np.maximum(root, 0), 0.0)


@dataclass
class HeadModel:
    """Patient-specific anatomy parameters; build with :meth:`random`."""

    brain_radii: np.ndarray
    surface_table: np.ndarray  # relative radial perturbation of the brain surface
    sulcus_table: np.ndarray  # distance (mm at unit radius) to the nearest sulcus line
    sulcal_depth_table: np.ndarray  # mm
    cortex_mm: float
    sulcus_halfwidth_mm: float
    csf_mm: float
    skull_mm: float
    scalp_mm: float
    fat_mm: float
    ventricle_scale: float
    cerebellum_centre: np.ndarray
    cerebellum_radii: np.ndarray
    tentorium_z0: float
    tentorium_slope: float
    texture: np.ndarray  # coarse lattice of multiplicative tissue texture
    texture_origin: float
    texture_step: float

    @classmethod
    def random(cls, rng: np.random.Generator) -> "HeadModel":
        size = rng.uniform(0.93, 1.07)
        radii = np.array([65.0, 80.0, 57.0]) * size * rng.normal(1, 0.025, 3)
        dirs = _table_directions()
        surface, _ = _tabulate(_sphere_field(rng, 24, (1.5, 3.5)), dirs)
        gyri, gyri_grad = _tabulate(_sphere_field(rng, 90, (16.0, 24.0)), dirs)
        depth, _ = _tabulate(_sphere_field(rng, 24, (4.0, 8.0)), dirs)
        texture_step = 6.0
        return cls(
            brain_radii=radii,
            surface_table=0.035 * surface,
            # |g| / |grad g| approximates the angular distance to the zero set
            # of g, whose level lines wind like sulci between gyri.
            sulcus_table=np.abs(gyri) / np.maximum(gyri_grad, 1e-6),
            sulcal_depth_table=np.clip(11.0 + 4.0 * depth, 4.0, 18.0),
            cortex_mm=rng.uniform(2.4, 3.0),
            sulcus_halfwidth_mm=rng.uniform(0.5, 0.9),
            csf_mm=rng.uniform(2.0, 4.0),
            skull_mm=rng.uniform(5.5, 7.5),
            scalp_mm=rng.uniform(2.0, 3.0),
            fat_mm=rng.uniform(3.0, 5.5),
            ventricle_scale=rng.uniform(0.8, 1.5),
            cerebellum_centre=np.array([0.0, -44.0, -40.0]) * size,
            cerebellum_radii=np.array([50.0, 30.0, 23.0]) * size * rng.normal(1, 0.03, 3),
            tentorium_z0=-24.0 * size,
            tentorium_slope=rng.uniform(0.3, 0.45),
            # Smoothed so that linear interpolation of the lattice looks smooth.
            texture=_unit_variance(ndimage.gaussian_filter(rng.normal(0, 1, (46, 46, 46)), 1.0)),
            texture_origin=-135.0,
            texture_step=texture_step,
        )

    # -- surfaces ------------------------------------------------------
    def brain_surface_radius(self, unit: np.ndarray) -> np.ndarray:
        ellipsoid = 1.0 / np.sqrt(((unit / self.brain_radii) ** 2).sum(-1))
        return ellipsoid * (1.0 + _lookup(self.surface_table, unit))

    def intracranial_radius(self, unit: np.ndarray, r_brain: np.ndarray | None = None) -> np.ndarray:
        """Radius of the inner skull surface: around cerebrum and cerebellum."""
        if r_brain is None:
            r_brain = self.brain_surface_radius(unit)
        cerebellum = _ray_to_ellipsoid(unit, self.cerebellum_centre, self.cerebellum_radii)
        return np.maximum(r_brain, cerebellum) + self.csf_mm

    def tentorium_height(self, y: np.ndarray) -> np.ndarray:
        # The tentorium rises from the occipital bone towards the incisura.
        return self.tentorium_z0 + self.tentorium_slope * (y + 20.0)

    # -- tissue classes -----------------------------------------------
    def tissue(self, p: np.ndarray) -> np.ndarray:
        """Tissue class (uint8) at each point of an (N, 3) array in the head frame."""
        r = np.linalg.norm(p, axis=1)
        unit = p / np.maximum(r, 1e-6)[:, None]
        r_brain = self.brain_surface_radius(unit)
        r_inner = self.intracranial_radius(unit, r_brain)
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        out = self._head_shells(p, r, r_inner)

        # Cerebrum, separated from the cerebellum by the tentorium.
        z_tent = self.tentorium_height(y)
        infratentorial = (z < z_tent) & (y < -5.0)
        depth = r_brain - r
        cerebrum = (depth > 0) & ~((z < z_tent + 1.5) & (y < -3.5))
        out[cerebrum] = self._cerebral(p, unit, r, r_brain, depth)[cerebrum]

        # Cerebellum below the tentorium: white core, foliated grey cortex.
        rho_cb = _ellipsoid_rho(p, self.cerebellum_centre, self.cerebellum_radii)
        # Below the tentorium, the posterior fossa is filled by the cerebellum.
        cerebellum = ((rho_cb < 1) | (depth > 0)) & infratentorial & (z < z_tent - 1.5)
        folia = np.sin(2 * np.pi * rho_cb * 9.0 + 0.15 * x) > 0.2
        cb_gm = (rho_cb > 0.62) | ((rho_cb > 0.35) & folia)
        out[cerebellum] = np.where(cb_gm[cerebellum], Tissue.CEREBELLAR_GM, Tissue.CEREBELLAR_WM)
        cerebellar_fissure = cerebellum & (np.abs(x) < 1.5) & (rho_cb > 0.45)
        out[cerebellar_fissure] = Tissue.CSF

        # Brainstem: a column running down from the midbrain.
        axis_y = -14.0 - 0.12 * (0.0 - z)
        stem = (z < -5) & (z > -110) & ((((x / 11.0) ** 2) + ((y - axis_y) / 10.0) ** 2) < 1.0)
        out[stem] = Tissue.BRAINSTEM

        # Dural sinuses: superior sagittal along the vertex, transverse along
        # the tentorium's outer edge.
        sss = (z > -10) & (np.hypot(x, r - (r_inner + 0.5)) < 3.5) & (y < 0.9 * r)
        out[sss] = Tissue.VESSEL
        transverse = (
            (y < -20)
            & (np.hypot(z - (z_tent - 2.0), r - (r_inner + 0.5)) < 3.0)
            & (np.abs(unit[:, 2]) < 0.6)
        )
        out[transverse] = Tissue.VESSEL
        return out

    def _head_shells(self, p: np.ndarray, r: np.ndarray, r_inner: np.ndarray) -> np.ndarray:
        """Tissue class outside the brain: scalp shells around the skull,
        the skull, dura and CSF inside it, a neck below the skull base; air
        elsewhere."""
        x, y, z = p[:, 0], p[:, 1], p[:, 2]
        out = np.full(len(p), Tissue.AIR, dtype=np.uint8)
        r_dura = r_inner + 1.0
        r_skull = r_dura + self.skull_mm
        r_fat = r_skull + self.fat_mm
        r_head = r_fat + self.scalp_mm
        neck_ellipse = (x / 52.0) ** 2 + ((y + 10) / 58.0) ** 2
        neck = (z < -55) & (neck_ellipse < 1.0)
        out[(r < r_head) | neck] = Tissue.MUSCLE
        out[(r < r_fat) & (r >= r_skull) | (neck & (neck_ellipse > 0.8))] = Tissue.FAT
        skull = (r < r_skull) & (r >= r_dura)
        out[skull] = Tissue.SKULL
        diploe = skull & (np.abs(r - (r_dura + r_skull) / 2) < 0.25 * self.skull_mm)
        out[diploe] = Tissue.DIPLOE
        out[(r < r_dura) & (r >= r_inner)] = Tissue.DURA
        out[r < r_inner] = Tissue.CSF
        return out

    def _cerebral(self, p: np.ndarray, unit: np.ndarray, r: np.ndarray, r_brain: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Tissue class of the cerebrum at each point (``depth`` mm below the
        brain surface): cortex, sulci and white matter, the interhemispheric
        fissure, and near the centre the deep grey matter and ventricles."""
        x = p[:, 0]
        sulcus_mm = _lookup(self.sulcus_table, unit) * r_brain
        sulcal_depth = _lookup(self.sulcal_depth_table, unit)
        in_sulcus = (sulcus_mm < self.sulcus_halfwidth_mm) & (depth < sulcal_depth)
        gm = (depth < self.cortex_mm) | (
            (sulcus_mm < self.sulcus_halfwidth_mm + self.cortex_mm) & (depth < sulcal_depth + self.cortex_mm)
        )
        cerebral = np.where(gm, Tissue.GM, Tissue.WM).astype(np.uint8)
        cerebral[in_sulcus] = Tissue.CSF
        # Interhemispheric fissure.
        cerebral[(np.abs(x) < 1.0 + 0.5 * self.sulcus_halfwidth_mm) & (depth < 30)] = Tissue.CSF
        cerebral[(np.abs(x) >= 1.0 + 0.5 * self.sulcus_halfwidth_mm) & (np.abs(x) < 3.5) & (depth < 32)] = Tissue.GM
        # Deep structures, evaluated only near the centre.
        central = np.flatnonzero(r < 50.0)
        pc = p[central]
        deep = cerebral[central]
        # Deep grey matter (thalami, basal ganglia).
        for side in (-1, 1):
            deep[_ellipsoid_rho(pc, (side * 13.0, -8.0, 2.0), (9.0, 14.0, 9.0)) < 1] = Tissue.DEEP_GM
            deep[_ellipsoid_rho(pc, (side * 22.0, 8.0, 4.0), (6.0, 14.0, 10.0)) < 1] = Tissue.DEEP_GM
        # Lateral ventricles: curved, bigger with atrophy; third ventricle.
        v = self.ventricle_scale
        bent = pc.copy()
        bent[:, 2] += 0.006 * pc[:, 1] ** 2
        for side in (-1, 1):
            deep[_ellipsoid_rho(bent, (side * 9.0 * v, 0.0, 14.0), (5.5 * v, 30.0, 9.0 * v)) < 1] = Tissue.CSF
        deep[_ellipsoid_rho(pc, (0.0, -5.0, 0.0), (1.5 * v, 12.0, 8.0)) < 1] = Tissue.CSF
        cerebral[central] = deep
        return cerebral

    def brain_mask(self, p: np.ndarray, tissue: np.ndarray | None = None) -> np.ndarray:
        """Ground-truth brain: cerebrum (with sulci and ventricles),
        cerebellum and brainstem above the foramen magnum."""
        if tissue is None:
            tissue = self.tissue(p)
        r = np.linalg.norm(p, axis=1)
        unit = p / np.maximum(r, 1e-6)[:, None]
        inside_envelope = (r < self.brain_surface_radius(unit)) | (
            _ellipsoid_rho(p, self.cerebellum_centre, self.cerebellum_radii) < 1
        )
        brain_tissue = np.isin(tissue, [*PARENCHYMA, Tissue.CSF])
        mask = brain_tissue & inside_envelope
        mask |= (tissue == Tissue.BRAINSTEM) & (p[:, 2] > -75.0)
        return mask

    def texture_at(self, p: np.ndarray) -> np.ndarray:
        """Smooth multiplicative tissue texture (mean 1, a few per cent)."""
        coords = (p.T - self.texture_origin) / self.texture_step
        return 1.0 + 0.035 * ndimage.map_coordinates(self.texture, coords, order=1, mode="nearest")
