"""Lesion instances from label maps: volume, longest diameter, centroid.

Shared by the phantom (its ground-truth table), cohort ingestion (lesion
counts and Table 1) and the evaluation (lesion-wise metrics, subgroups,
Figures 5-6).

What counts as one lesion is one setting (``LesionInstances``): connected
components, pieces closer than ``join_mm`` joined (an expert's mask of one
tumour often comes in pieces: necrotic and enhancing parts split by
oedema, a stray voxel beside the rim), and instances smaller than
``min_volume_mm3`` not counted, for the truth as for the prediction. The
phantom's lesions are exact (join 0, no minimum): one sphere, one lesion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import pdist

from .niio import spacing_mm, voxel_volume_mm3

# Neighbourhoods of 3D connected components, by neighbour count.
_CONNECTIVITY_RANK = {6: 1, 18: 2, 26: 3}

LESION_COLUMNS = [
    "lesion_id",
    "voxels",
    "volume_mm3",
    "longest_diameter_mm",
    "centroid_x_mm",
    "centroid_y_mm",
    "centroid_z_mm",
]


def connected_components(mask: np.ndarray, connectivity: int = 26) -> tuple[np.ndarray, int]:
    """Label 3D connected components with 6-, 18- or 26-connectivity."""
    if connectivity not in _CONNECTIVITY_RANK:
        raise ValueError(f"connectivity must be 6, 18 or 26, not {connectivity}")
    structure = ndimage.generate_binary_structure(3, _CONNECTIVITY_RANK[connectivity])
    labels, n = ndimage.label(np.asarray(mask) > 0, structure=structure)
    return labels.astype(np.int32), int(n)


def confident_components(mask: np.ndarray, probability: np.ndarray, min_peak: float, connectivity: int = 26) -> np.ndarray:
    """``mask`` without its connected components whose probability never
    reaches ``min_peak`` anywhere (hysteresis: a lesion is drawn down to the
    operating threshold, but only where the model is sure of it somewhere;
    most of what a model trained on synthetic heads marks on real normal
    tissue is a broad blob of middling probability). ``min_peak`` 0: the
    mask as it is."""
    mask = np.asarray(mask) > 0
    if min_peak <= 0:
        return mask
    labels, n = connected_components(mask, connectivity)
    if not n:
        return mask
    peaks = ndimage.maximum(np.asarray(probability, np.float32), labels, np.arange(1, n + 1))
    keep = np.concatenate([[False], np.asarray(peaks) >= min_peak])
    return keep[labels]


@dataclass(frozen=True)
class LesionInstances:
    """How a binary lesion mask becomes lesions (``cohort.lesion_connectivity``,
    ``lesion_join_mm``, ``lesion_min_volume_mm3``)."""

    connectivity: int = 26
    join_mm: float = 0.0
    min_volume_mm3: float = 0.0

    @classmethod
    def from_config(cls, config: dict) -> LesionInstances:
        cohort = config["cohort"]
        return cls(cohort["lesion_connectivity"], cohort.get("lesion_join_mm", 0.0), cohort.get("lesion_min_volume_mm3", 0.0))

    def label(self, mask: np.ndarray, affine) -> tuple[np.ndarray, int]:
        """Instance labels 1..n of ``mask`` (0 elsewhere, and on pieces too
        small to count) and n."""
        labels, n = connected_components(mask, self.connectivity)
        if n and self.join_mm > 0:
            labels, n = _joined(labels, affine, self.join_mm, self.connectivity)
        if n and self.min_volume_mm3 > 0:
            sizes = np.bincount(labels.ravel(), minlength=n + 1) * voxel_volume_mm3(affine)
            keep = np.flatnonzero(sizes >= self.min_volume_mm3)
            keep = keep[keep > 0]
            relabel = np.zeros(n + 1, np.int32)
            relabel[keep] = np.arange(1, keep.size + 1)
            labels, n = relabel[labels], int(keep.size)
        return labels, n


def _joined(labels: np.ndarray, affine, join_mm: float, connectivity: int) -> tuple[np.ndarray, int]:
    """Components whose gap is at most ``join_mm`` as one: each grown by
    half the gap (physical distance), the grown mask's components relabel
    the original voxels."""
    mask = labels > 0
    box = ndimage.find_objects(mask.astype(np.uint8))[0]
    spacing = spacing_mm(affine)
    pad = np.ceil(join_mm / spacing).astype(int) + 1
    box = tuple(slice(max(0, b.start - p), min(size, b.stop + p)) for b, p, size in zip(box, pad, mask.shape))
    local = mask[box]
    grown = ndimage.distance_transform_edt(~local, sampling=spacing) <= join_mm / 2
    groups, n = connected_components(grown, connectivity)
    out = np.zeros(labels.shape, np.int32)
    out[box][local] = groups[local]  # every grown group holds original voxels: ids stay 1..n
    return out, n


def boundary_face_points(local_mask: np.ndarray) -> np.ndarray:
    """Centres of the voxel faces between a mask and its outside, in voxel
    index units of ``local_mask`` (which must have a zero border)."""
    points = []
    for axis in range(3):
        for step in (-1, 1):
            neighbour = np.roll(local_mask, -step, axis=axis)
            faces = np.argwhere(local_mask & ~neighbour).astype(float)
            faces[:, axis] += 0.5 * step
            points.append(faces)
    return np.concatenate(points)


def longest_diameter_mm(local_mask: np.ndarray, affine: np.ndarray) -> float:
    """Longest 3D diameter of one lesion in mm (maximum Feret diameter).

    Measured between the centres of the lesion's outer voxel faces, which is
    where a surface mesh of the lesion (as in pyradiomics' Maximum 3D
    Diameter) places its vertices: a sphere of diameter D rasterised at any
    spacing measures about D, and a single voxel measures its longest side.
    """
    padded = np.pad(np.asarray(local_mask, dtype=bool), 1)
    lin = np.asarray(affine)[:3, :3]
    points = boundary_face_points(padded) @ lin.T
    if len(points) > 64:
        try:
            points = points[ConvexHull(points).vertices]
        except QhullError:  # flat (coplanar) lesions: use every face
            pass
    return float(pdist(points).max())


def lesion_table(labels: np.ndarray, affine: np.ndarray) -> pd.DataFrame:
    """One row per label value > 0 of an instance label map."""
    labels = np.asarray(labels)
    voxel_mm3 = float(abs(np.linalg.det(np.asarray(affine)[:3, :3])))
    rows = []
    for lesion_id, slices in enumerate(ndimage.find_objects(labels), start=1):
        if slices is None:
            continue
        local_mask = labels[slices] == lesion_id
        local = np.argwhere(local_mask)
        if len(local) == 0:
            continue
        idx = local + np.array([s.start for s in slices])
        centroid = affine[:3, :3] @ idx.mean(axis=0) + affine[:3, 3]
        rows.append(
            {
                "lesion_id": lesion_id,
                "voxels": len(idx),
                "volume_mm3": len(idx) * voxel_mm3,
                "longest_diameter_mm": longest_diameter_mm(local_mask, affine),
                "centroid_x_mm": centroid[0],
                "centroid_y_mm": centroid[1],
                "centroid_z_mm": centroid[2],
            }
        )
    return pd.DataFrame(rows, columns=LESION_COLUMNS)


def lesion_table_from_mask(mask: np.ndarray, affine: np.ndarray, instances: LesionInstances = LesionInstances()) -> pd.DataFrame:
    """Lesions of a binary mask, one per instance (``instances``; by default
    one per 26-connected component)."""
    labels, _ = instances.label(mask, affine)
    return lesion_table(labels, affine)
