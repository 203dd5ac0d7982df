"""How a synthetic head looks on each sequence: contrast drawn per patient,
tissue and sequence, then the acquisition's blur, bias, gamma, ghosting and
Rician noise, each drawn at random (domain randomisation, as SynthSeg)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..phantom.acquisition import NECROSIS, OEDEMA, bias_field, rician_magnitude
from ..sequences import SEQUENCES
from .head import Head
from .tumours import TumourMaps

# Typical signal relative to white matter (= 1) per sequence (T1pre, T1gd,
# BRAVO, FLAIR), as in the phantom; each patient's values scatter around
# these by CONTRAST_JITTER (log-normal), so tissues may even swap order.
TYPICAL = {
    "csf": (0.25, 0.27, 0.12, 0.08),
    "gm": (0.72, 0.74, 0.62, 1.15),
    "wm": (1.0, 1.0, 1.0, 1.0),
    "dura": (0.4, 0.8, 0.75, 0.5),
    "skull": (0.05, 0.05, 0.05, 0.05),
    "scalp": (1.1, 1.1, 1.0, 0.8),
    "vessel": (0.45, 1.45, 1.7, 0.3),
    "enhancing": (0.65, 1.5, 1.65, 1.25),
    "non-enhancing": (0.7, 0.72, 0.65, 1.45),
    "necrosis": tuple(NECROSIS[s] for s in SEQUENCES),
    "oedema": tuple(OEDEMA[s] for s in SEQUENCES),
}
CONTRAST_JITTER = 0.18
# Sequences often acquired as thick 2D slices (the rest are 3D).
THICK_SLICE_PROBABILITY = {"T1pre": 0.5, "T1gd": 0.2, "BRAVO": 0.0, "FLAIR": 0.6}
GHOSTING_PROBABILITY = 0.15


def draw_contrast(rng: np.random.Generator) -> dict[str, dict[str, float]]:
    """Per sequence, each tissue's signal relative to white matter."""
    out = {}
    for col, seq in enumerate(SEQUENCES):
        values = {tissue: typical[col] * float(np.exp(rng.normal(0.0, CONTRAST_JITTER))) for tissue, typical in TYPICAL.items()}
        values["wm"] = 1.0
        out[seq] = values
    return out


def _texture(rng, shape) -> np.ndarray:
    """Multiplicative tissue texture at two scales: the template, an
    average of many brains, is smoother than any one brain."""
    out = np.ones(shape, np.float32)
    for sigma, amplitude in ((1.5, rng.uniform(0.02, 0.08)), (0.6, rng.uniform(0.0, 0.08))):
        field = ndimage.gaussian_filter(rng.normal(size=shape).astype(np.float32), sigma)
        out += amplitude * field / max(float(field.std()), 1e-6)
    return out


def render(rng: np.random.Generator, seq: str, head: Head, tumours: TumourMaps, vessels: np.ndarray, contrast: dict) -> tuple[np.ndarray, dict]:
    """One sequence as an int16 magnitude image on the head's grid, and the
    acquisition drawn for it."""
    mu = contrast[seq]
    texture = _texture(rng, head.grid.shape)
    signal = np.zeros(head.grid.shape, np.float32)
    for tissue, fraction in head.tissues.items():
        signal += fraction * mu[tissue]
    signal *= texture
    signal = signal * (1.0 - tumours.oedema) + mu["oedema"] * texture * tumours.oedema
    solid = np.clip(1.0 - tumours.enhancing - tumours.necrotic, 0.0, 1.0)
    core = tumours.enhancing * mu["enhancing"] + tumours.necrotic * mu["necrosis"] + solid * mu["non-enhancing"]
    signal = signal * (1.0 - tumours.core) + core * texture * tumours.core
    signal = signal * (1.0 - vessels) + mu["vessel"] * vessels

    thick = bool(rng.random() < THICK_SLICE_PROBABILITY[seq])
    blur = [rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.8), rng.uniform(1.0, 2.5) if thick else rng.uniform(0.3, 0.8)]
    signal = ndimage.gaussian_filter(signal, sigma=blur, mode="nearest")
    gamma = float(np.exp(rng.normal(0.0, 0.12)))
    signal = np.power(np.clip(signal, 0.0, None), gamma)
    bias = float(rng.uniform(0.0, 0.3))
    signal *= bias_field(rng, head.grid, bias)
    ghost = 0.0
    if rng.random() < GHOSTING_PROBABILITY:
        ghost = float(rng.uniform(0.03, 0.12))
        axis = int(rng.integers(2))
        signal = signal + ghost * np.roll(signal, head.grid.shape[axis] // int(rng.integers(2, 5)), axis=axis)
    sigma = float(rng.uniform(0.01, 0.06))
    scale = float(rng.uniform(300, 1500))
    image = rician_magnitude(rng, signal, sigma, scale)
    if head.kept is not None:
        image[~head.kept] = 0
    acquisition = {"thick_slices": thick, "blur_voxels": [round(b, 3) for b in blur], "gamma": round(gamma, 4), "bias_strength": round(bias, 4),
                   "ghosting": round(ghost, 4), "noise_sigma": round(sigma, 4), "scale": round(scale, 2)}
    return image, acquisition


def draw_vessels(rng: np.random.Generator, head: Head, n: int) -> np.ndarray:
    """Enhancing vessels on the brain's surface and in its sulci: random
    walks of persistent direction through CSF next to cortex, as fractions
    of each voxel."""
    spacing = float(head.grid.spacing.mean())
    starts = np.argwhere((head.tissues["csf"] > 0.3) & (head.tissues["gm"] > 0.1))
    marks = np.zeros(head.grid.shape, np.float32)
    if len(starts) == 0 or n == 0:
        return marks
    for _ in range(n):
        point = starts[rng.integers(len(starts))].astype(float)
        direction = rng.normal(size=3)
        steps = int(rng.uniform(15.0, 60.0) / (0.5 * spacing))
        for _ in range(steps):
            direction = direction / np.linalg.norm(direction) + rng.normal(0, 0.25, 3)
            direction /= np.linalg.norm(direction)
            point = point + 0.5 * direction
            idx = np.round(point).astype(int)
            if np.any(idx < 0) or np.any(idx >= head.grid.shape):
                break
            marks[tuple(idx)] = 1.0
    # A vessel 1-2 mm thick fills about a 2 mm voxel.
    return np.clip(ndimage.gaussian_filter(marks, 0.5) * 4.0, 0.0, 1.0) * (head.brain | (head.tissues["dura"] > 0))
