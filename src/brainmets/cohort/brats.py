"""Reader for the BraTS layout (BraTS-METS and the other BraTS 2023 challenges).

Layout: one folder per case, ``<case>/<case>-{t1c,t1n,t2f,t2w}.nii.gz``, and
in labelled cases ``<case>-seg.nii.gz`` with labels 0 background, 1 necrotic
core, 2 oedema, 3 enhancing tumour. Case folders are found anywhere under the
root. The images are already skull-stripped and co-registered on one grid
(1 mm, 240x240x155 in SRI-24 space).

Sequences: ``t1n`` is T1pre, ``t1c`` T1gd, ``t2f`` FLAIR; there is no BRAVO.
``t2w`` has no slot among the project's sequences: its path is kept in the
record's metadata (``t2w``) so that it is not lost.

Patient ids: the case name with every character outside [A-Za-z0-9] dropped,
e.g. ``BraTS-MET-00001-000`` -> ``BraTSMET00001000``.

Lesion mask: the segmentation labels in ``lesion_labels`` become 1, all
others 0. The default, 1 and 3 (necrotic core and enhancing tumour, BraTS's
"tumour core"), is what a metastasis outline on post-contrast T1 covers;
oedema (2) is left out.

A bad case (missing sequence file, segmentation label outside 0-3, images on
different grids, unreadable file) is logged with its case and file and left
out; the other cases go on. Only a release with no valid case fails.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import nibabel as nib
import numpy as np

from ..niio import atomic_write_text
from .sheet import PatientRecord
from .validate import InputError, check_patient_ids, load_image

log = logging.getLogger(__name__)

SEQUENCE_SUFFIXES = {"T1pre": "t1n", "T1gd": "t1c", "FLAIR": "t2f"}
EXTRA_SUFFIXES = ("t2w",)
SEG_SUFFIX = "seg"
SUFFIXES = (*SEQUENCE_SUFFIXES.values(), *EXTRA_SUFFIXES, SEG_SUFFIX)
SEG_LABELS = {0: "background", 1: "necrotic core", 2: "oedema", 3: "enhancing tumour"}
DEFAULT_LESION_LABELS = (1, 3)
# The reference when files disagree on the grid: the T1gd, onto which the
# others are brought when there is no BRAVO.
_GRID_ORDER = ("t1c", "t1n", "t2f", "t2w", "seg")
_AFFINE_TOLERANCE = 1e-3  # as validate.check_mask


def patient_id(case: str) -> str:
    """The case name in the project's id alphabet (BIDS labels)."""
    return re.sub(r"[^A-Za-z0-9]", "", case)


def check_lesion_labels(labels) -> tuple[int, ...]:
    labels = tuple(int(v) for v in labels)
    if not labels or not set(labels) <= set(SEG_LABELS) - {0}:
        raise ValueError(f"BraTS lesion labels {list(labels)} must be a non-empty subset of 1, 2, 3")
    return labels


def case_file(case: Path, suffix: str) -> Path | None:
    for ext in (".nii.gz", ".nii"):
        path = case / f"{case.name}-{suffix}{ext}"
        if path.exists():
            return path
    return None


def _is_case(folder: Path, names) -> bool:
    stems = {f"{folder.name}-{s}{ext}" for s in SUFFIXES for ext in (".nii.gz", ".nii")}
    return any(n in stems for n in names)


def find_cases(root: Path) -> list[Path]:
    cases = []
    for dirpath, dirnames, filenames in os.walk(root):
        folder = Path(dirpath)
        if _is_case(folder, filenames):
            cases.append(folder)
            dirnames.clear()  # a case folder holds no further cases
        dirnames.sort()
    return sorted(cases, key=lambda p: (p.name, str(p)))


def _labels(data: np.ndarray) -> list[float]:
    """Distinct values of a segmentation (bincount: faster than unique on 9M voxels)."""
    if np.issubdtype(data.dtype, np.integer) and data.size and 0 <= data.min() and data.max() < 256:
        return np.flatnonzero(np.bincount(data.ravel().astype(np.intp))).astype(float).tolist()
    return np.unique(data).astype(float).tolist()


def check_seg_labels(case: str, path, labels) -> None:
    bad = [v for v in labels if v not in SEG_LABELS]
    if bad:
        shown = ", ".join(f"{v:g}" for v in bad[:6]) + (", ..." if len(bad) > 6 else "")
        raise InputError(case, path, f"segmentation label(s) {shown} outside BraTS's 0-3 (0 background, 1 necrotic core, 2 oedema, 3 enhancing tumour)")


def lesion_mask(case: str, path, seg: np.ndarray, lesion_labels=DEFAULT_LESION_LABELS) -> np.ndarray:
    """Binary metastasis mask: 1 where the segmentation has one of ``lesion_labels``."""
    check_seg_labels(case, path, _labels(seg))
    return np.isin(seg, check_lesion_labels(lesion_labels)).astype(np.uint8)


class _LabelCache:
    """Segmentation labels by file, so that repeated discovery (every
    workflow job resolves the cohort) reads each segmentation once."""

    def __init__(self, path):
        self.path = Path(path) if path else None
        self.entries, self.changed = {}, False
        if self.path and self.path.is_file():
            try:
                self.entries = json.loads(self.path.read_text())
            except (OSError, ValueError):
                self.entries = {}

    @staticmethod
    def _key(file: Path) -> tuple[str, list]:
        stat = file.stat()
        return str(file.resolve()), [stat.st_size, stat.st_mtime_ns]

    def get(self, case: str, file: Path) -> list[float]:
        key, stamp = self._key(file)
        entry = self.entries.get(key)
        if isinstance(entry, dict) and entry.get("stamp") == stamp:
            return entry["labels"]
        data, _ = load_image(case, file)
        labels = _labels(data)
        self.entries[key] = {"stamp": stamp, "labels": labels}
        self.changed = True
        return labels

    def save(self) -> None:
        if self.path and self.changed:
            try:
                atomic_write_text(self.path, json.dumps(self.entries, indent=1, sort_keys=True))
            except OSError as exc:  # only a speed-up: never fails discovery
                log.warning("could not write the BraTS label cache %s: %s", self.path, exc)


def _grid(case: str, path: Path) -> tuple[tuple, np.ndarray]:
    try:
        img = nib.load(str(path))  # the header only
    except (OSError, EOFError, ValueError, nib.filebasedimages.ImageFileError) as exc:
        raise InputError(case, path, f"not a readable NIfTI image ({type(exc).__name__}: {exc})") from exc
    shape = tuple(img.shape)
    if len(shape) == 4 and shape[3] == 1:
        shape = shape[:3]
    return shape, img.affine


def _same_grid(a, b) -> bool:
    return a[0] == b[0] and np.allclose(a[1], b[1], atol=_AFFINE_TOLERANCE)


def _grid_problems(case: str, files: dict[str, Path], grids: dict[str, tuple]) -> list[InputError]:
    """Name the files off the grid most files share (ties: the T1gd's)."""
    order = [s for s in _GRID_ORDER if s in grids]
    agree = {s: sum(_same_grid(grids[s], grids[o]) for o in order) for s in order}
    ref = max(order, key=lambda s: (agree[s], -order.index(s)))
    shared = [s for s in order if s != ref and _same_grid(grids[s], grids[ref])]
    problems = []
    for s in order:
        if _same_grid(grids[s], grids[ref]):
            continue
        others = ", ".join([ref, *shared])
        if grids[s][0] != grids[ref][0]:
            what = f"shape {grids[s][0]} differs from {grids[ref][0]}, the shape of {others}"
        else:
            difference = np.abs(grids[s][1] - grids[ref][1]).max()
            what = f"affine differs from that of {others} (largest difference {difference:.4g})"
        problems.append(InputError(case, files[s], f"{s} {what}: the images are not on one grid"))
    return problems


def check_case(case: Path, lesion_labels, cache: _LabelCache | None = None) -> tuple[PatientRecord | None, list[InputError]]:
    """One case's record, or the problems that keep it out."""
    name = case.name
    files = {s: case_file(case, s) for s in SUFFIXES}
    problems = [
        InputError(name, case / f"{name}-{s}.nii.gz", f"{s} ({seq}) file is missing")
        for seq, s in SEQUENCE_SUFFIXES.items()
        if files[s] is None
    ]
    pid = patient_id(name)
    if not pid:
        problems.append(InputError(name, case, "case name has no letters or digits to make a patient id"))
    present = {s: f for s, f in files.items() if f is not None}
    grids = {}
    for s, f in present.items():
        try:
            grids[s] = _grid(name, f)
        except InputError as exc:
            problems.append(exc)
    if len(grids) > 1:
        problems.extend(_grid_problems(name, present, grids))
    seg = files[SEG_SUFFIX]
    if seg is not None and SEG_SUFFIX in grids:
        try:
            labels = (cache or _LabelCache(None)).get(name, seg)
            check_seg_labels(name, seg, labels)
        except InputError as exc:
            problems.append(exc)
    if problems:
        return None, problems
    record = PatientRecord(
        patient_id=pid,
        images={seq: files[s] for seq, s in SEQUENCE_SUFFIXES.items()},
        lesions=seg,
        metadata={
            "source": "brats",
            "case": name,
            "preprocessed": True,  # skull-stripped and co-registered by the release
            "skull_stripped": True,
            "coregistered": True,
            "lesion_labels": list(lesion_labels),
            "t2w": str(files["t2w"]) if files["t2w"] else None,
        },
        source="brats",
    )
    return record, []


def scan(root, lesion_labels=DEFAULT_LESION_LABELS, cache=None) -> tuple[list[PatientRecord], list[InputError]]:
    """Every valid case under ``root`` and the problems of the others."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"BraTS folder {root} does not exist")
    lesion_labels = check_lesion_labels(lesion_labels)
    labels_cache = _LabelCache(cache)
    records, problems, owner = [], [], {}
    for case in find_cases(root):
        record, found = check_case(case, lesion_labels, labels_cache)
        if record is not None and record.patient_id in owner:
            found = [InputError(case.name, case, f"patient id {record.patient_id!r} is already taken by case {owner[record.patient_id]}")]
            record = None
        problems.extend(found)
        if record is not None:
            owner[record.patient_id] = str(case)
            records.append(record)
    labels_cache.save()
    return records, problems


def discover(root, lesion_labels=DEFAULT_LESION_LABELS, cache=None) -> list[PatientRecord]:
    """Valid BraTS cases under ``root``; bad ones are logged and left out.

    ``cache``: optional JSON file that keeps each segmentation's labels
    between calls.
    """
    records, problems = scan(root, lesion_labels, cache)
    for exc in problems:
        log.warning("BraTS case left out: %s", exc)
    if not records:
        detail = "; ".join(str(p) for p in problems[:5]) + ("; ..." if len(problems) > 5 else "")
        if problems:
            raise ValueError(f"no valid BraTS case under {root}: {detail}")
        raise ValueError(f"no BraTS case folders (<case>/<case>-t1c.nii.gz, ...) found under {root}")
    if problems:
        left_out = sorted({p.patient for p in problems})
        log.warning("BraTS: %d case(s) left out (%s), %d go on", len(left_out), ", ".join(left_out), len(records))
    check_patient_ids(r.patient_id for r in records)
    return records
