"""2.5D inputs: each axial slice with its neighbours from every sequence.

An example for slice ``k`` has ``len(sequences) * (2 * context + 1)``
channels, sequence-major: channel ``s * (2c + 1) + j`` is sequence ``s`` at
slice ``k - c + j``. Neighbours beyond the first or last slice are zeros,
the value of masked-out background, so edge slices see "no tissue" there.

Volumes are held slice-axis-first and padded with ``context`` zero slices
(``(Z + 2c, H, W, S)``); an example is a gather of ``2c + 1`` slices from
that array, so a slice is stored once however many examples use it.
Files are handled slice-axis-last (``brainmets.slices.to_slices_last``)
whatever the orientation of the file; ``from_slices_last`` puts predictions
back.
"""

from __future__ import annotations

import numpy as np



def n_channels(n_sequences: int, context: int) -> int:
    return n_sequences * (2 * context + 1)


def neighbourhoods(padded: np.ndarray, centres, context: int) -> np.ndarray:
    """(B, H, W, S * (2c + 1)) inputs of the slices at rows ``centres`` of
    ``padded`` (N, H, W, S), whose rows ``centre ± context`` must exist."""
    offsets = np.arange(-context, context + 1)
    window = padded[np.asarray(centres)[:, None] + offsets]  # (B, 2c+1, H, W, S)
    b, depth, h, w, s = window.shape
    return window.transpose(0, 2, 3, 4, 1).reshape(b, h, w, s * depth)


class SliceStacker:
    """Builds 2.5D examples from co-registered volumes (each (H, W, Z))."""

    def __init__(self, volumes: list[np.ndarray], context: int, dtype=np.float32):
        shapes = {v.shape for v in volumes}
        if len(shapes) != 1:
            raise ValueError(f"sequences differ in shape: {sorted(shapes)}")
        self.context = context
        self.n_slices = volumes[0].shape[-1]
        # (Z + 2c, H, W, S): one padded copy, examples are gathers from it.
        stacked = np.stack([np.moveaxis(np.asarray(v, dtype), -1, 0) for v in volumes], axis=-1)
        self._padded = np.pad(stacked, ((context, context), (0, 0), (0, 0), (0, 0)))

    @property
    def channels(self) -> int:
        return n_channels(self._padded.shape[-1], self.context)

    def example(self, k: int) -> np.ndarray:
        """(H, W, channels) input of slice ``k``."""
        return self.batch([k])[0]

    def batch(self, indices) -> np.ndarray:
        return neighbourhoods(self._padded, np.asarray(indices) + self.context, self.context)
