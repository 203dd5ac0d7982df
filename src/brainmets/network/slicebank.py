"""The training and development slices of many patients, held in memory.

Every patient's slices sit in one array, ``(N, H, W, S)`` in the records'
stored dtype (uint8 for equalized images: the paper's 100 training
patients at 256x256x160 take about 4 GB), with ``context`` zero slices
between patients and at both ends, so the 2.5D neighbourhood of any slice
is one gather (``stacking.neighbourhoods``) and never reaches into another
patient. Rows holding a real slice are the bank's ``centres``.

``lesions()`` lists each lesion (a 26-connected component of a patient's
labels, across slices) by its voxels, for draws that give every lesion the
same chance however small.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import ndimage

from .records import check_compatible, read_patient_records
from .stacking import n_channels, neighbourhoods

log = logging.getLogger(__name__)


class SliceBank:
    def __init__(self, indices: list[dict], context: int, read=read_patient_records):
        first = check_compatible(indices)
        self.context = context
        self.patients = [i["patient_id"] for i in indices]
        h, w, n_seq = first["height"], first["width"], len(first["sequences"])
        self.image_dtype = np.dtype(first["image_dtype"])
        rows = context + sum(i["examples"] + context for i in indices)
        self.images = np.zeros((rows, h, w, n_seq), self.image_dtype)
        self.labels = np.zeros((rows, h, w), np.uint8)
        centres, patient, slice_index = [], [], []
        row = context
        for number, index in enumerate(indices):
            volumes = read(index)
            z = index["examples"]
            self.images[row : row + z] = volumes["images"]
            self.labels[row : row + z] = volumes["labels"]
            centres.append(np.arange(row, row + z))
            patient.append(np.full(z, number))
            slice_index.append(np.arange(z))
            row += z + context
        self.centres = np.concatenate(centres) if centres else np.zeros(0, np.int64)
        self.patient = np.concatenate(patient) if patient else np.zeros(0, np.int64)
        self.slice_index = np.concatenate(slice_index) if slice_index else np.zeros(0, np.int64)
        self.has_lesion = self.labels[self.centres].reshape(len(self.centres), -1).any(axis=1)
        self.lesion_centres = self.centres[self.has_lesion]
        self._spans = [(int(c[0]), len(c)) for c in centres]
        self._lesions = None
        log.info(
            "%d patients in memory: %d slices (%d with lesions), %.0f MB",
            len(indices), len(self.centres), len(self.lesion_centres), (self.images.nbytes + self.labels.nbytes) / 1e6,
        )

    def lesions(self) -> tuple[np.ndarray, np.ndarray]:
        """``(voxels, starts)``: the (row, y, x) of every lesion voxel, lesion
        after lesion, and where each lesion's run begins (one entry more
        than there are lesions, the last the total). Computed once."""
        if self._lesions is None:
            voxels, sizes = [], []
            for first, z in self._spans:
                components, n = ndimage.label(self.labels[first : first + z] > 0, np.ones((3, 3, 3)))
                if not n:
                    continue
                where = np.argwhere(components)
                which = components[tuple(where.T)]
                order = np.argsort(which, kind="stable")
                voxels.append(where[order] + [first, 0, 0])
                sizes.append(np.bincount(which, minlength=n + 1)[1:])
            sizes = np.concatenate(sizes) if sizes else np.zeros(0, np.int64)
            self._lesions = (np.concatenate(voxels) if voxels else np.zeros((0, 3), np.int64), np.r_[0, np.cumsum(sizes)].astype(np.int64))
            log.info("%d lesions in the training slices", len(sizes))
        return self._lesions

    @property
    def channels(self) -> int:
        return n_channels(self.images.shape[-1], self.context)

    @property
    def shape(self) -> tuple[int, int]:
        return self.images.shape[1:3]

    def inputs(self, centres) -> np.ndarray:
        """(B, H, W, channels) stored-dtype inputs of bank rows ``centres``."""
        return neighbourhoods(self.images, centres, self.context)

    def targets(self, centres) -> np.ndarray:
        """(B, H, W, 1) uint8 lesion labels of bank rows ``centres``."""
        return self.labels[np.asarray(centres)][..., None]
