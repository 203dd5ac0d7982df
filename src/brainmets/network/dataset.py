"""Training and validation batches, as in the paper.

Of each training batch (32 in the paper), a ``lesion_fraction`` (half) is
drawn uniformly at random from all training slices with some lesion, and
the rest uniformly at random from all training slices of all training
patients (lesion-free slices outnumber lesion slices more than 30 to 1).
The two kinds alternate within the batch, so any contiguous share of it (a
replica's, with several GPUs) holds both. Each example is randomly flipped
and rotated by a multiple of 90 degrees together with its label, and
optionally (sequence dropout, with probability ``sequence_dropout``) has a
uniformly drawn non-empty proper subset of its sequences (of at most
``max_missing`` of them, or one of the given ``subsets``) blanked, whole,
to zeros or to a middle grey inside the brain (``fill``): the model then accepts
those subsets missing, given so (the authors' 2021 follow-up; at least
one sequence is always kept). Dropout may start only at batch
``dropout_from_step``: a network that first learns from complete inputs
keeps their accuracy, and then learns to do without some of them.

Beyond the paper, ``lesion_draw="lesion"`` makes each lesion draw pick a
lesion uniformly among all the training lesions, then one of its voxels
(its slice, and the voxel a patch keeps): the paper's uniform draw over
lesion slices sees a 40 mm lesion on some 20 slices for each slice of a
6 mm one, and the network then finds the small ones last and least sure.

Beyond the paper, ``crop`` trains on square patches instead of whole slices
(the network is fully convolutional; inference stays whole-slice): a
lesion draw's patch holds a random voxel of its lesion at a random place,
a uniform draw's patch lies anywhere in its slice. Patches of half the
slice's side cost a quarter of the computation (the CPU demo).

Batch ``g`` (counted over the whole training, across epochs) is a pure
function of ``(seed, g)``: batches may be produced in parallel and out of
order, and a training resumed at epoch ``e`` sees the very batches an
uninterrupted one would have. ``loader`` hands them to Keras.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .records import full_scale
from .slicebank import SliceBank
from ..sequences import SEQUENCES


def dropout_subsets(n_sequences: int, max_missing: int | None = None) -> list[tuple[int, ...]]:
    """Every non-empty proper subset of ``n_sequences`` sequences (indices)
    of at most ``max_missing`` of them (None: any), the smaller first: what
    sequence dropout may blank."""
    largest = n_sequences - 1 if max_missing is None else min(int(max_missing), n_sequences - 1)
    return [c for k in range(1, largest + 1) for c in itertools.combinations(range(n_sequences), k)]


def named_dropout_subsets(sequences, named_sets) -> list[tuple[int, ...]]:
    """The subsets (indices into ``sequences``) that ``named_sets`` (lists of
    sequence names) name: sequence dropout draws only these, each as often
    as it is listed, so every input set a model must accept is trained on
    enough (the 14 subsets of four sequences would leave each 1/14 of the
    dropout), and a hard one more. Names of sequences the model lacks are
    left out; a set that is then empty or holds every sequence is dropped."""
    sequences = list(sequences)
    unknown = sorted({name for subset in named_sets for name in subset} - set(sequences) - set(SEQUENCES))
    if unknown:
        raise ValueError(f"training.sequence_dropout_sets names unknown sequences: {', '.join(unknown)}")
    out = []
    for subset in named_sets:
        indices = tuple(sorted(sequences.index(name) for name in set(subset) if name in sequences))
        if indices and len(indices) < len(sequences):
            out.append(indices)
    return out


def interleaved_order(n_lesion: int, n_uniform: int) -> np.ndarray:
    """Positions of ``n_lesion`` lesion then ``n_uniform`` uniform examples
    spread evenly over the batch (L U L U ... for equal halves)."""
    keys = np.r_[(np.arange(n_lesion) + 0.5) / max(n_lesion, 1), (np.arange(n_uniform) + 0.5) / max(n_uniform, 1)]
    return np.argsort(keys, kind="stable")


# What a blanked sequence is filled with, as a share of the stored range:
# zeros (outside the brain's value: on a T1pre, "dark", which reads as
# enhancement beside a bright T1gd) or the middle grey of the brain's
# histogram-equalized intensities, inside the brain only.
MISSING_FILLS = {"zero": 0.0, "mid_grey": 0.5}


def missing_level(fill: str, image_dtype) -> float:
    """A blanked sequence's value inside the brain, in the stored units
    (uint8 images: 0-255, as the batches hold them)."""
    if fill not in MISSING_FILLS:
        raise ValueError(f"unknown sequence dropout fill {fill!r}: use {', '.join(MISSING_FILLS)}")
    return float(np.round(MISSING_FILLS[fill] * full_scale(image_dtype)))


# How a lesion draw picks its slice: uniformly among lesion slices (the
# paper), or a lesion uniformly among lesions, then one of its voxels.
LESION_DRAWS = ("slice", "lesion")


class BalancedSampler:
    def __init__(
        self, bank: SliceBank, batch_size: int, lesion_fraction: float, seed: int, augment: bool = True, sequence_dropout: float = 0.0, crop: int | None = None,
        max_missing: int | None = None, dropout_from_step: int = 0, subsets: list[tuple[int, ...]] | None = None,
        fill: str = "zero", lesion_draw: str = "slice",
    ):
        self.bank = bank
        self.crop = crop if crop and crop < min(bank.shape) else None
        self.batch_size = batch_size
        self.n_lesion = int(round(batch_size * lesion_fraction))
        self.seed = int(seed)
        self.augment = augment
        self.sequence_dropout = float(sequence_dropout)
        self.dropout_from_step = int(dropout_from_step)
        self.fill_level = missing_level(fill, bank.images.dtype)
        # Empty with a single sequence: nothing can be blanked.
        self.dropout_subsets = list(subsets) if subsets is not None else dropout_subsets(bank.images.shape[-1], max_missing)
        if self.n_lesion and not len(bank.lesion_centres):
            raise ValueError(f"no training slice of patients {', '.join(bank.patients)} has a lesion: the lesion part of each batch cannot be drawn")
        if lesion_draw not in LESION_DRAWS:
            raise ValueError(f"unknown lesion draw {lesion_draw!r}: use {', '.join(LESION_DRAWS)}")
        self.lesion_draw = lesion_draw
        if self.n_lesion and lesion_draw == "lesion":
            # Listed here, once: batches are made by several threads at once.
            bank.lesions()
        self.order = interleaved_order(self.n_lesion, batch_size - self.n_lesion)

    def _rng(self, step: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, 0xBA7C, int(step)]))

    def draw(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Bank rows of batch ``step`` and which of them are lesion draws."""
        rows, is_lesion, _ = self._draw(step)
        return rows, is_lesion

    def _draw(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Also the (y, x) lesion voxel each lesion draw's patch keeps
        (-1: any of the slice's lesion voxels)."""
        rng = self._rng(step)
        anchors = np.full((self.batch_size, 2), -1, np.int64)
        if self.n_lesion and self.lesion_draw == "lesion":
            voxels, starts = self.bank.lesions()
            which = rng.integers(0, len(starts) - 1, self.n_lesion)
            picked = voxels[starts[which] + (rng.random(self.n_lesion) * np.diff(starts)[which]).astype(np.int64)]
            lesion, anchors[: self.n_lesion] = picked[:, 0], picked[:, 1:]
        else:
            lesion = rng.choice(self.bank.lesion_centres, self.n_lesion) if self.n_lesion else np.zeros(0, np.int64)
        uniform = rng.choice(self.bank.centres, self.batch_size - self.n_lesion)
        rows = np.r_[lesion, uniform][self.order]
        is_lesion = (np.arange(self.batch_size) < self.n_lesion)[self.order]
        return rows.astype(np.int64), is_lesion, anchors[self.order]

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels) of batch ``step``, images in the stored dtype
        (B, H, W, channels), labels uint8 (B, H, W, 1)."""
        rows, is_lesion, anchors = self._draw(step)
        images, labels = self.bank.inputs(rows), self.bank.targets(rows)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0xA06, int(step)]))
        if self.crop:
            images, labels = self._patches(images, labels, is_lesion, anchors, rng)
        if self.augment:
            for i in range(len(rows)):
                images[i], labels[i] = flip_rotate(images[i], labels[i], rng.integers(0, 2, 2), int(rng.integers(0, 4)))
        # No draw at all without dropout: the batches stay those of before.
        if self.sequence_dropout > 0 and self.dropout_subsets and step >= self.dropout_from_step:
            per_sequence = images.shape[-1] // self.bank.images.shape[-1]
            drop = rng.random(len(rows)) < self.sequence_dropout
            which = rng.integers(0, len(self.dropout_subsets), len(rows))
            for i in np.flatnonzero(drop):
                # The brain: where any sequence has signal (images are masked).
                value = ((images[i] > 0).any(-1, keepdims=True) * self.fill_level).astype(images.dtype) if self.fill_level else 0
                for s in self.dropout_subsets[which[i]]:  # channels are sequence-major
                    images[i, ..., s * per_sequence : (s + 1) * per_sequence] = value
        return images, labels

    def _patches(self, images, labels, is_lesion, anchors, rng):
        c = self.crop
        corners = [patch_origin(labels[i], c, bool(is_lesion[i]), rng, anchors[i]) for i in range(len(images))]
        return (
            np.stack([images[i, y : y + c, x : x + c] for i, (y, x) in enumerate(corners)]),
            np.stack([labels[i, y : y + c, x : x + c] for i, (y, x) in enumerate(corners)]),
        )


def patch_origin(label: np.ndarray, size: int, around_lesion: bool, rng: np.random.Generator, anchor=(-1, -1)) -> tuple[int, int]:
    """Top-left corner of a ``size`` patch: anywhere in the slice, or (a
    lesion draw) anywhere that keeps a lesion voxel inside: ``anchor``, or
    else a random one."""
    h, w = label.shape[:2]
    if around_lesion:
        if anchor[0] >= 0:
            y, x = anchor
        else:
            voxels = np.argwhere(label[..., 0] > 0)
            y, x = voxels[rng.integers(len(voxels))]
        lo_y, lo_x = max(0, y - size + 1), max(0, x - size + 1)
        return int(rng.integers(lo_y, min(y, h - size) + 1)), int(rng.integers(lo_x, min(x, w - size) + 1))
    return int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))


def flip_rotate(image: np.ndarray, label: np.ndarray, flips, quarter_turns: int):
    """The same flips (rows, columns) and rotation of an image and its label."""
    for axis, flip in enumerate(flips):
        if flip:
            image, label = np.flip(image, axis), np.flip(label, axis)
    # Copies: the results are written back over the arrays they came from.
    return np.rot90(image, quarter_turns, (0, 1)).copy(), np.rot90(label, quarter_turns, (0, 1)).copy()


def steps_per_epoch(n_slices: int, batch_size: int) -> int:
    """An epoch is one pass over all distinct training slices (the paper)."""
    return max(1, math.ceil(n_slices / batch_size))
