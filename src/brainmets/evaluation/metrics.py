"""Per-patient metrics of the paper, from the probability map and truth.

All voxel metrics use voxels inside the brain mask only. Lesions are the
instances (``lesions.LesionInstances``: 3D connected components, 26 by
default; pieces within ``lesion_join_mm`` joined; those under
``lesion_min_volume_mm3`` not counted) of the ground truth and of the
thresholded prediction, counted the same way in both.

* Voxel ROC: AUC, and sensitivity / specificity / threshold at the maximum
  of Youden's index (see ``roc``).
* At the operating threshold: voxel precision, recall and Dice. With no
  predicted voxel, precision is undefined: reported as NaN and counted,
  never a crash. With no lesion, recall is undefined likewise.
* Lesion-wise, at the operating threshold: a ground-truth lesion is detected
  when any predicted voxel overlaps it; a predicted component overlapping no
  lesion is a false positive, counted with no size limit and counting only
  components of at least ``min_fp_volume_mm3`` (physical volume, so
  anisotropic voxels are right).
* Size analysis, at probability ``size_threshold`` (0.1): a lesion is found
  when prediction covers more than ``found_fraction`` (10%) of its voxels;
  its size is its longest 3D diameter in mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..lesions import LesionInstances, confident_components, longest_diameter_mm
from ..niio import spacing_mm, voxel_volume_mm3
from .roc import brain_roc


@dataclass(frozen=True)
class EvaluationSettings:
    threshold: float = 0.93
    size_threshold: float = 0.1
    found_fraction: float = 0.1
    min_fp_volume_mm3: float = 10.0
    connectivity: int = 26
    brats_dilation: int = 1
    lesion_join_mm: float = 0.0
    lesion_min_volume_mm3: float = 0.0
    # evaluation.lesion_min_peak_probability (lesions.confident_components).
    min_peak_probability: float = 0.0

    @classmethod
    def from_config(cls, config: dict, **chosen) -> EvaluationSettings:
        """The settings of the workflow's configuration; ``chosen``: those
        not configured (the operating ``threshold``, chosen per model)."""
        return cls(**configured_settings(config), **chosen)

    @property
    def instances(self) -> LesionInstances:
        """What counts as one lesion, in the truth and in the prediction."""
        return LesionInstances(self.connectivity, self.lesion_join_mm, self.lesion_min_volume_mm3)

    def predicted(self, probability: np.ndarray, brain: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """The predicted mask: the brain's voxels at or above ``threshold``
        (default: the operating one), in components that reach the least
        peak probability (nothing is predicted outside the brain: the mask
        is part of the input)."""
        cut = self.threshold if threshold is None else threshold
        return confident_components((probability >= cut) & brain, probability, self.min_peak_probability, self.connectivity)


# Each configured field and where the workflow's configuration holds it.
CONFIG_KEYS = {
    "size_threshold": ("evaluation", "size_threshold"),
    "found_fraction": ("evaluation", "found_fraction"),
    "min_fp_volume_mm3": ("evaluation", "min_fp_volume_mm3"),
    "brats_dilation": ("evaluation", "brats_dilation"),
    "connectivity": ("cohort", "lesion_connectivity"),
    "lesion_join_mm": ("cohort", "lesion_join_mm"),
    "lesion_min_volume_mm3": ("cohort", "lesion_min_volume_mm3"),
    "min_peak_probability": ("evaluation", "lesion_min_peak_probability"),
}


def configured_settings(config: dict) -> dict:
    """The configured fields of :class:`EvaluationSettings`, as plain
    values (a rule's params; its script builds the settings from them)."""
    return {name: config[block][key] for name, (block, key) in CONFIG_KEYS.items() if key in config[block]}


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else float("nan")


def voxel_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict:
    """Precision, recall and Dice of two boolean arrays (brain voxels)."""
    tp = int(np.count_nonzero(truth & predicted))
    fp = int(np.count_nonzero(~truth & predicted))
    fn = int(np.count_nonzero(truth & ~predicted))
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "dice": _ratio(2 * tp, 2 * tp + fp + fn),
        "predicted_voxels": tp + fp,
        "precision_defined": bool(tp + fp),
    }


def lesion_detection(
    truth: np.ndarray, predicted: np.ndarray, affine, settings: EvaluationSettings, truth_instances=None, pred_instances=None
) -> tuple[dict, list[dict]]:
    """Detected lesions and false-positive components; also one row per
    false-positive component (its volume). ``truth_instances``,
    ``pred_instances``: the masks' ``settings.instances.label``, where the
    caller has them already."""
    truth_labels, n_truth = truth_instances or settings.instances.label(truth, affine)
    pred_labels, n_pred = pred_instances or settings.instances.label(predicted, affine)
    detected = np.unique(truth_labels[(pred_labels > 0) & (truth_labels > 0)])
    touching = np.unique(pred_labels[truth & (pred_labels > 0)])
    voxel_mm3 = voxel_volume_mm3(affine)
    sizes = np.bincount(pred_labels.ravel(), minlength=n_pred + 1)
    fp_ids = np.setdiff1d(np.arange(1, n_pred + 1), touching)
    fp_rows = [{"component": int(i), "volume_mm3": float(sizes[i] * voxel_mm3)} for i in fp_ids]
    return {
        "lesions": n_truth,
        "detected_lesions": int(detected.size),
        "lesion_sensitivity": _ratio(detected.size, n_truth),
        "predicted_components": n_pred,
        "fp_components": int(fp_ids.size),
        "fp_components_min_volume": int(sum(r["volume_mm3"] >= settings.min_fp_volume_mm3 for r in fp_rows)),
    }, fp_rows


def size_analysis(truth: np.ndarray, probability: np.ndarray, affine, settings: EvaluationSettings, truth_instances=None) -> list[dict]:
    """One row per ground-truth lesion: longest diameter, covered share, found."""
    labels, _ = truth_instances or settings.instances.label(truth, affine)
    covered = probability >= settings.size_threshold
    voxel_mm3 = voxel_volume_mm3(affine)
    rows = []
    for lesion_id, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is None:
            continue
        local = labels[box] == lesion_id
        voxels = int(local.sum())
        overlap = float(covered[box][local].sum() / voxels)
        rows.append(
            {
                "lesion": lesion_id,
                "voxels": voxels,
                "volume_mm3": voxels * voxel_mm3,
                "longest_diameter_mm": longest_diameter_mm(local, affine),
                "overlap": overlap,
                "found": overlap > settings.found_fraction,
            }
        )
    return rows


def evaluate_patient(truth: np.ndarray, probability: np.ndarray, brain_mask: np.ndarray, affine, settings: EvaluationSettings):
    """Metrics of one patient: a row of numbers, lesion rows, and the ROC."""
    truth = np.asarray(truth) > 0
    brain = np.asarray(brain_mask) > 0
    probability = np.asarray(probability, np.float32)
    roc = brain_roc(truth, probability, brain)
    youden = roc.youden()
    predicted = settings.predicted(probability, brain)
    row = {
        "auc": roc.auc(),
        "youden_threshold": youden["threshold"],
        "sensitivity": youden["sensitivity"],
        "specificity": youden["specificity"],
        "lesion_voxels": int(truth[brain].sum()),
        **voxel_metrics(truth[brain], predicted[brain]),
    }
    # Lesion-wise on the whole volume: a lesion the brain mask cut off is a miss.
    # Each mask's instances once: joining pieces takes a distance transform.
    truth_instances, pred_instances = settings.instances.label(truth, affine), settings.instances.label(predicted, affine)
    detection, fp_rows = lesion_detection(truth, predicted, affine, settings, truth_instances, pred_instances)
    row.update(detection)
    row.update(lesionwise_brats(truth, predicted, affine, settings.instances, settings.brats_dilation, truth_instances, pred_instances))
    lesions = size_analysis(truth, probability * brain, affine, settings, truth_instances)
    return row, lesions, fp_rows, roc


# BraTS-METS convention for an unmatched lesion's Hausdorff distance (mm).
HD95_MISSING_MM = 374.0


def _surface(mask: np.ndarray) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask)


def hausdorff95_mm(a: np.ndarray, b: np.ndarray, spacing) -> float:
    """95th percentile of the symmetric surface distances of two masks."""
    both = a | b
    box = tuple(slice(max(0, s.start - 2), s.stop + 2) for s in ndimage.find_objects(both.astype(np.uint8))[0])
    a, b = a[box], b[box]
    sa, sb = _surface(a), _surface(b)
    to_b = ndimage.distance_transform_edt(~sb, sampling=spacing)
    to_a = ndimage.distance_transform_edt(~sa, sampling=spacing)
    return float(np.percentile(np.concatenate([to_b[sa], to_a[sb]]), 95))


def _union_box(boxes, margin: int, shape) -> tuple[slice, ...]:
    return tuple(
        slice(max(0, min(b[d].start for b in boxes) - margin), min(shape[d], max(b[d].stop for b in boxes) + margin))
        for d in range(len(shape))
    )


def lesionwise_brats(
    truth: np.ndarray, predicted: np.ndarray, affine, instances: LesionInstances = LesionInstances(), dilation: int = 1, truth_instances=None, pred_instances=None
) -> dict:
    """BraTS-METS-style lesion-wise Dice and HD95.

    Matching rule: a predicted component matches a ground-truth lesion when
    it overlaps the lesion dilated by ``dilation`` voxels; the lesion's Dice
    and HD95 are computed against the union of its matching components. An
    unmatched lesion and an unmatched predicted component (false positive)
    each count Dice 0 and HD95 374 mm; the patient's values are the means
    over lesions and false positives.
    """
    spacing = spacing_mm(affine)
    truth_labels, n_truth = truth_instances or instances.label(truth, affine)
    pred_labels, n_pred = pred_instances or instances.label(predicted, affine)
    pred_boxes = ndimage.find_objects(pred_labels)
    matched = set()
    dices, hds = [], []
    for lesion_id, box in enumerate(ndimage.find_objects(truth_labels), start=1):
        if box is None:
            continue
        # Work in bounding boxes: whole-volume operations per lesion are slow.
        grown_box = _union_box([box], dilation + 1, truth.shape)
        local = truth_labels[grown_box] == lesion_id
        grown = ndimage.binary_dilation(local, iterations=dilation) if dilation else local
        ids = np.unique(pred_labels[grown_box][grown & (pred_labels[grown_box] > 0)])
        matched.update(ids.tolist())
        if ids.size == 0:
            dices.append(0.0)
            hds.append(HD95_MISSING_MM)
            continue
        both = _union_box([box] + [pred_boxes[i - 1] for i in ids], 0, truth.shape)
        lesion = truth_labels[both] == lesion_id
        pred = np.isin(pred_labels[both], ids)
        dices.append(2 * np.count_nonzero(lesion & pred) / (lesion.sum() + pred.sum()))
        hds.append(hausdorff95_mm(lesion, pred, spacing))
    false_positives = n_pred - len(matched)
    dices += [0.0] * false_positives
    hds += [HD95_MISSING_MM] * false_positives
    return {
        "lesionwise_dice": float(np.mean(dices)) if dices else float("nan"),
        "lesionwise_hd95_mm": float(np.mean(hds)) if hds else float("nan"),
        "brats_false_positives": false_positives,
    }
