"""2.5D inputs: each axial slice with its neighbours from every sequence.

An example for slice ``k`` has ``len(sequences) * (2 * context + 1)``
channels, sequence-major: channel ``s * (2c + 1) + j`` is sequence ``s`` at
slice ``k - c + j``. Neighbours beyond the first or last slice are zeros,
the value of masked-out background, so edge slices see "no tissue" there.

Volumes are handled slice-axis-last (``to_slices_last``) whatever the
orientation of the file; ``from_slices_last`` puts predictions back.
"""

from __future__ import annotations

import numpy as np

from ..preprocessing.normalize import slice_axis


def to_slices_last(volume: np.ndarray, affine: np.ndarray) -> np.ndarray:
    return np.moveaxis(volume, slice_axis(affine), -1)


def from_slices_last(volume: np.ndarray, affine: np.ndarray) -> np.ndarray:
    return np.moveaxis(volume, -1, slice_axis(affine))


def n_channels(n_sequences: int, context: int) -> int:
    return n_sequences * (2 * context + 1)


class SliceStacker:
    """Builds 2.5D examples from co-registered volumes (each (H, W, Z))."""

    def __init__(self, volumes: list[np.ndarray], context: int, dtype=np.float32):
        shapes = {v.shape for v in volumes}
        if len(shapes) != 1:
            raise ValueError(f"sequences differ in shape: {sorted(shapes)}")
        self.context = context
        self.n_slices = volumes[0].shape[-1]
        pad = ((0, 0), (0, 0), (context, context))
        # (H, W, Z + 2c, S): one padded copy, examples are views into it.
        self._padded = np.stack([np.pad(np.asarray(v, dtype), pad) for v in volumes], axis=-1)

    @property
    def channels(self) -> int:
        return n_channels(self._padded.shape[-1], self.context)

    def example(self, k: int) -> np.ndarray:
        """(H, W, channels) input of slice ``k``."""
        window = self._padded[:, :, k : k + 2 * self.context + 1, :]  # (H, W, 2c+1, S)
        return window.transpose(0, 1, 3, 2).reshape(window.shape[0], window.shape[1], -1)

    def batch(self, indices) -> np.ndarray:
        return np.stack([self.example(k) for k in indices])
