"""Whole-volume inference: batched 2.5D slices in, a probability map out.

The map is on the grid of the preprocessed images (the reference's slices,
the BRAVO's, else the post-Gd T1's, at the network's in-plane size, with
the matching affine), and zero outside the brain mask, which the paper applies to
the network's input.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, fields

import numpy as np

from ..input_sets import missing_refusal
from ..niio import atomic_write_text, load_nifti, save_nifti
from ..slices import from_slices_last, to_slices_last
from .dataset import missing_level
from .records import full_scale
from .model import DOWNSAMPLING
from .stacking import SliceStacker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InferenceSettings:
    """The configuration's ``inference`` block: slices per forward pass, the
    brain window's margin (None: the whole frame), and the devices an
    inference job asks for."""

    batch_size: int = 16
    window_margin: int | None = 32
    gpus: int = 0
    allow_cpu_fallback: bool = False

    @classmethod
    def from_config(cls, block: dict) -> InferenceSettings:
        return cls(**{f.name: block[f.name] for f in fields(cls) if f.name in block})


def check_inputs(card: dict, shape, missing, source: str) -> None:
    """Fail clearly when the images do not fit the model."""
    size = card["inplane_size"]
    if shape[0] != size or shape[1] != size:
        raise ValueError(f"{source}: in-plane size {shape[0]}x{shape[1]}, the model was trained on {size}x{size}")
    refusal = missing_refusal(card, missing)
    if refusal:
        raise ValueError(f"{source}: sequence(s) {', '.join(missing)} missing, but the model {refusal}")


def brain_window(mask: np.ndarray, margin: int | None, multiple: int = DOWNSAMPLING) -> tuple[slice, slice]:
    """In-plane window of the network's computation: the bounding box of the
    mask over all slices grown by ``margin`` voxels, with a corner and a
    size on the network's stride grid (so its pooling sees the same
    neighbourhoods as on the whole frame); the whole frame for ``None``."""
    h, w = mask.shape[:2]
    if margin is None or not mask.any():
        return slice(0, h), slice(0, w)
    rows, cols = np.flatnonzero(mask.any(axis=(1, 2))), np.flatnonzero(mask.any(axis=(0, 2)))
    window = []
    for lo, hi, size in ((rows[0], rows[-1] + 1, h), (cols[0], cols[-1] + 1, w)):
        start = max(0, (lo - margin) // multiple * multiple)
        stop = min(size, start + -(-(hi + margin - start) // multiple) * multiple)
        window.append(slice(start, stop))
    return tuple(window)


def predict_volume(model, card: dict, volumes: dict, mask: np.ndarray, batch_size: int = 16, missing=(), margin: int | None = None) -> np.ndarray:
    """Probabilities (H, W, Z) for slices-last ``volumes`` (by sequence;
    a missing sequence is filled as sequence dropout trained it: zeros, or
    the card's ``sequence_dropout_fill`` inside the brain).

    Only slices with brain are computed, in batches of one fixed shape (the
    last is padded, so the network is traced once); with ``margin``, only
    the brain's window (``brain_window``) of each slice. A card with
    ``test_time_mirroring`` axes gets the mean of the probabilities of every
    mirror image of each slice along them (nnU-Net's test-time mirroring),
    each flipped back."""
    shape = mask.shape
    stack = [missing_volume(card, mask) if seq in missing else volumes[seq] for seq in card["sequences"]]
    stacker = SliceStacker(stack, card["context"])
    prob = np.zeros(shape, np.float32)
    rows, cols = brain_window(mask, margin)
    # Slices without brain are left at zero.
    todo = [k for k in range(shape[-1]) if mask[..., k].any()]
    mirrors = mirror_images(card.get("test_time_mirroring", []))
    started = time.perf_counter()
    for start in range(0, len(todo), batch_size):
        ks = todo[start : start + batch_size]
        inputs = stacker.batch(ks)[:, rows, cols]
        padded = np.zeros((batch_size, *inputs.shape[1:]), inputs.dtype)
        padded[: len(ks)] = inputs
        mean = np.zeros((len(ks), *inputs.shape[1:3]), np.float32)
        for axes in mirrors:
            # Batch axis first: the slice's in-plane axes are 1 and 2.
            flip = tuple(a + 1 for a in axes)
            logits = np.asarray(model.predict_on_batch(np.flip(padded, flip) if flip else padded), np.float32)[: len(ks), ..., 0]
            probability = 1.0 / (1.0 + np.exp(-logits))
            mean += np.flip(probability, flip) if flip else probability
        prob[rows, cols, ks] = np.moveaxis(mean / len(mirrors), 0, -1)
        done = start + len(ks)
        if done == len(todo) or (start // batch_size) % 10 == 9:
            log.info("inference: %d/%d slices (%.1f slices/s)", done, len(todo), done / (time.perf_counter() - started))
    return prob * (mask > 0)


def mirror_images(axes) -> list[tuple[int, ...]]:
    """Every combination of flips along ``axes`` (in-plane: 0 rows, 1
    columns), the unflipped image first: [()] without mirroring."""
    axes = sorted(set(axes))
    if any(a not in (0, 1) for a in axes):
        raise ValueError(f"test_time_mirroring axes must be in-plane (0, 1), not {axes}")
    return [tuple(a for i, a in enumerate(axes) if n >> i & 1) for n in range(2 ** len(axes))]


def missing_volume(card: dict, mask: np.ndarray) -> np.ndarray:
    """A missing sequence as the model's training blanked it (older cards: zeros)."""
    dtype = card.get("image_dtype", "float32")
    level = missing_level(card.get("sequence_dropout_fill", "zero"), dtype)
    return ((mask > 0) * (level / full_scale(dtype))).astype(np.float32)


def load_preprocessed(card: dict, images: dict, mask_path) -> tuple[dict, np.ndarray, np.ndarray, list[str]]:
    """Slices-last volumes (by sequence), mask and affine of one preprocessed
    patient, and the card's sequences it lacks; checked against the model."""
    mask, affine = load_nifti(mask_path, np.uint8)
    missing = [seq for seq in card["sequences"] if images.get(seq) is None]
    check_inputs(card, to_slices_last(mask, affine).shape, missing, f"file {mask_path}")
    volumes = {}
    for seq in card["sequences"]:
        if seq in missing:
            continue
        data, data_affine = load_nifti(images[seq])
        if data.shape != mask.shape or not np.allclose(data_affine, affine, atol=1e-4):
            raise ValueError(f"file {images[seq]}: grid differs from the brain mask {mask_path}")
        volumes[seq] = to_slices_last(data, affine)
    return volumes, to_slices_last(mask, affine), affine, missing


def predict_patient(model, card: dict, images: dict, mask_path, out_path, batch_size: int = 16, margin: int | None = None) -> dict:
    """Probability map of one preprocessed patient, written as NIfTI."""
    volumes, mask, affine, missing = load_preprocessed(card, images, mask_path)
    started = time.perf_counter()
    prob = predict_volume(model, card, volumes, mask, batch_size, missing, margin)
    seconds = time.perf_counter() - started
    save_nifti(out_path, from_slices_last(prob, affine), affine)
    return {"seconds": seconds, "missing": missing, "max_probability": float(prob.max()), "window_margin": margin}


def predict_patients(model, card: dict, patients: dict, outputs: dict, batch_size: int = 16, margin: int | None = None) -> list[dict]:
    """Probability maps and reports of many patients from one loaded model
    (``patients``: id -> {"images": by sequence, "brain_mask": path};
    ``outputs``: id -> {"probability": map, "report": JSON}, the caller's
    names), so the start-up (import, model load, tracing) is paid once per
    model."""
    reports = []
    for n, (pid, patient) in enumerate(patients.items(), 1):
        paths = outputs[pid]
        report = predict_patient(model, card, patient["images"], patient["brain_mask"], paths["probability"], batch_size, margin)
        report = {"patient_id": pid, **report}
        atomic_write_text(paths["report"], json.dumps(report, indent=2))
        log.info("patient %s (%d/%d): %.1f s, max probability %.3f", pid, n, len(patients), report["seconds"], report["max_probability"])
        reports.append(report)
    return reports
