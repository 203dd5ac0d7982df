"""Which way the slices run: the axial slice axis of a grid, and volumes
held slice-axis-last.

The network sees axial slices; the preprocessed images keep the voxel order
of the reference's file, whose slice axis may be any of the three (a
sagittal acquisition resampled onto an axial grid has it last, an axial one
stored another way not). Preprocessing normalises per slice along
``slice_axis``, the network's records and inference work on
``to_slices_last`` volumes and ``from_slices_last`` puts maps back in the
file's order, and the figures draw the same slices.
"""

from __future__ import annotations

import numpy as np


def slice_axis(affine: np.ndarray) -> int:
    """The array axis that runs most nearly inferior-superior (axial slices)."""
    lin = np.asarray(affine)[:3, :3]
    return int(np.argmax(np.abs(lin[2]) / np.sqrt((lin**2).sum(axis=0))))


def to_slices_last(volume: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """``volume`` (in the voxel order of ``affine``) with its axial slice axis last."""
    return np.moveaxis(volume, slice_axis(affine), -1)


def from_slices_last(volume: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """The inverse of ``to_slices_last``: back to the voxel order of ``affine``."""
    return np.moveaxis(volume, -1, slice_axis(affine))
