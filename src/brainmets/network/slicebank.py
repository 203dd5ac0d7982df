"""The training and development slices of many patients, held in memory.

Every patient's slices sit in one array, ``(N, H, W, S)`` in the records'
stored dtype (uint8 for equalized images: the paper's 100 training
patients at 256x256x160 take about 4 GB), with ``context`` zero slices
between patients and at both ends, so the 2.5D neighbourhood of any slice
is one gather (``stacking.neighbourhoods``) and never reaches into another
patient. Rows holding a real slice are the bank's ``centres``.
"""

from __future__ import annotations

import logging

import numpy as np

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
        log.info(
            "%d patients in memory: %d slices (%d with lesions), %.0f MB",
            len(indices), len(self.centres), len(self.lesion_centres), (self.images.nbytes + self.labels.nbytes) / 1e6,
        )

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
