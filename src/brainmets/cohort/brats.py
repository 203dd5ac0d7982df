"""Reader for the BraTS layouts: BraTS 2018-2021 and BraTS 2023 (BraTS-METS and
the other 2023 challenges).

Layouts, one folder per case, found anywhere under the root; which one a
case uses is read from its files:

* 2023: ``<case>/<case>-{t1c,t1n,t2f,t2w,seg}.nii.gz``;
* 2018-2021: ``<case>/<case>_{t1ce,t1,flair,t2,seg}.nii.gz``.

The images are already skull-stripped and co-registered on one grid (1 mm,
240x240x155 in SRI-24 space).

Sequences: ``t1n``/``t1`` is T1pre, ``t1c``/``t1ce`` T1gd, ``t2f``/``flair``
FLAIR; there is no BRAVO. The T2 (``t2w``/``t2``) has no slot among the
project's sequences: its path is kept in the record's metadata (``t2w``) so
that it is not lost.

Segmentation labels, also read from the files: 1 necrotic (2018-2021:
necrotic and non-enhancing) core, 2 oedema, and the enhancing tumour 3 in
2023 but 4 in 2018-2021 (whose 3 is unused). A segmentation holding 4 is in
the 2018-2021 convention, one holding 3 in the 2023 one; one with neither
follows its file naming.

Patient ids: the case name with every character outside [A-Za-z0-9] dropped,
e.g. ``BraTS-MET-00001-000`` -> ``BraTSMET00001000``.

Lesion mask: the regions in ``lesion_labels`` become 1, all others 0. The
labels are given in the 2023 numbering (4 is taken as 3: the enhancing
tumour in either). The default, 1 and 3 (necrotic core and enhancing
tumour, BraTS's "tumour core"), is what a metastasis outline on
post-contrast T1 covers; oedema (2) is left out.

A bad case (missing sequence file, segmentation label outside its
convention, images on different grids, unreadable file, files in neither
naming) is logged with its case and file and left out; the other cases go
on. Only a release with no valid case fails.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from ..niio import atomic_write_text
from .sheet import PatientRecord
from .validate import InputError, check_patient_ids, load_image

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Naming:
    """One release's file names: ``<case><separator><suffix>.nii[.gz]``."""

    name: str
    separator: str
    sequences: dict  # project sequence -> suffix
    t2: str
    seg: str = "seg"
    # The enhancing tumour's label when the segmentation itself does not say.
    enhancing_label: int = 3

    @property
    def suffixes(self) -> tuple[str, ...]:
        return (*self.sequences.values(), self.t2, self.seg)

    def file_name(self, case: str, suffix: str, ext: str = ".nii.gz") -> str:
        return f"{case}{self.separator}{suffix}{ext}"


NAMINGS = (
    Naming("2023", "-", {"T1pre": "t1n", "T1gd": "t1c", "FLAIR": "t2f"}, "t2w", enhancing_label=3),
    Naming("2018-2021", "_", {"T1pre": "t1", "T1gd": "t1ce", "FLAIR": "flair"}, "t2", enhancing_label=4),
)
# Regions by the 2023 numbering, the one lesion_labels is given in; 4 (the
# 2018-2021 enhancing tumour) is the same region as 3.
REGIONS = {1: "necrotic core", 2: "oedema", 3: "enhancing tumour"}
SEG_LABELS = {0: "background", **REGIONS}
DEFAULT_LESION_LABELS = (1, 3)
_EXTENSIONS = (".nii.gz", ".nii")
_AFFINE_TOLERANCE = 1e-3  # as validate.check_mask


def patient_id(case: str) -> str:
    """The case name in the project's id alphabet (BIDS labels)."""
    return re.sub(r"[^A-Za-z0-9]", "", case)


def check_lesion_labels(labels) -> tuple[int, ...]:
    """The lesion labels in the 2023 numbering (4 read as 3), sorted."""
    labels = tuple(int(v) for v in labels)
    if not labels or not set(labels) <= {1, 2, 3, 4}:
        raise ValueError(f"BraTS lesion labels {list(labels)} must be a non-empty subset of 1, 2, 3 (4 is taken as 3, the enhancing tumour)")
    return tuple(sorted({3 if v == 4 else v for v in labels}))


def label_convention(case: str, path, labels, naming: Naming) -> int:
    """The enhancing tumour's label in this segmentation (3: 2023, 4:
    2018-2021), read from its labels, else from its naming; a label outside
    either convention, or both 3 and 4, is refused naming the file."""
    present = {float(v) for v in labels}
    bad = [v for v in sorted(present) if v not in (0, 1, 2, 3, 4)]
    if bad:
        shown = ", ".join(f"{v:g}" for v in bad[:6]) + (", ..." if len(bad) > 6 else "")
        raise InputError(
            case, path,
            f"segmentation label(s) {shown} outside BraTS's 0-4 (0 background, 1 necrotic core, 2 oedema, "
            "enhancing tumour 3 in BraTS 2023, 4 in BraTS 2018-2021)",
        )
    if {3.0, 4.0} <= present:
        raise InputError(case, path, "segmentation holds both 3 and 4: the enhancing tumour is 3 in BraTS 2023 and 4 in BraTS 2018-2021, never both")
    if 4.0 in present:
        return 4
    if 3.0 in present:
        return 3
    return naming.enhancing_label


def file_labels(lesion_labels, enhancing_label: int) -> tuple[int, ...]:
    """``lesion_labels`` (2023 numbering) as the labels of a segmentation
    whose enhancing tumour is ``enhancing_label``."""
    return tuple(enhancing_label if v == 3 else v for v in check_lesion_labels(lesion_labels))


def lesion_mask(case: str, path, seg: np.ndarray, lesion_labels=DEFAULT_LESION_LABELS, naming: str | None = None) -> np.ndarray:
    """Binary metastasis mask: 1 where the segmentation holds one of the
    regions ``lesion_labels`` (2023 numbering), in its own convention."""
    layout = next((n for n in NAMINGS if n.name == naming), NAMINGS[0])
    enhancing = label_convention(case, path, _labels(seg), layout)
    return np.isin(seg, file_labels(lesion_labels, enhancing)).astype(np.uint8)


def case_naming(folder: Path, names) -> Naming | None:
    """The naming most of the folder's files follow (ties: the 2023 one), or
    None when none of them follows either."""
    names = set(names)
    counts = [sum(n.file_name(folder.name, s, ext) in names for s in n.suffixes for ext in _EXTENSIONS) for n in NAMINGS]
    best = max(range(len(NAMINGS)), key=lambda i: (counts[i], -i))
    return NAMINGS[best] if counts[best] else None


def case_file(case: Path, suffix: str, naming: Naming = NAMINGS[0]) -> Path | None:
    for ext in _EXTENSIONS:
        path = case / naming.file_name(case.name, suffix, ext)
        if path.exists():
            return path
    return None


def _is_image(name: str) -> bool:
    return name.endswith(_EXTENSIONS)


def find_cases(root: Path) -> tuple[list[Path], list[Path]]:
    """Case folders under ``root``, and folders of NIfTI images in neither naming."""
    cases, strays = [], []
    for dirpath, dirnames, filenames in os.walk(root):
        folder = Path(dirpath)
        if case_naming(folder, filenames) is not None:
            cases.append(folder)
            dirnames.clear()  # a case folder holds no further cases
        elif not dirnames and any(_is_image(n) for n in filenames):
            strays.append(folder)
        dirnames.sort()
    order = lambda p: (p.name, str(p))  # noqa: E731
    return sorted(cases, key=order), sorted(strays, key=order)


def _labels(data: np.ndarray) -> list[float]:
    """Distinct values of a segmentation (bincount: faster than unique on 9M voxels)."""
    if np.issubdtype(data.dtype, np.integer) and data.size and 0 <= data.min() and data.max() < 256:
        return np.flatnonzero(np.bincount(data.ravel().astype(np.intp))).astype(float).tolist()
    return np.unique(data).astype(float).tolist()


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


def _grid_problems(case: str, files: dict[str, Path], grids: dict[str, tuple], order) -> list[InputError]:
    """Name the files off the grid most files share (ties: the first of
    ``order``, the T1gd's)."""
    order = [s for s in order if s in grids]
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
    naming = case_naming(case, [p.name for p in case.iterdir()]) if case.is_dir() else None
    if naming is None:
        expected = "; ".join(f"BraTS {n.name}: " + ", ".join(n.file_name(name, s) for s in (*n.sequences.values(), n.seg)) for n in NAMINGS)
        return None, [InputError(name, case, f"its images follow neither BraTS naming ({expected})")]
    files = {s: case_file(case, s, naming) for s in naming.suffixes}
    problems = [
        InputError(name, case / naming.file_name(name, s), f"{s} ({seq}) file is missing (BraTS {naming.name} naming)")
        for seq, s in naming.sequences.items()
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
        # The T1gd first: the others are brought onto it when there is no BRAVO.
        order = (naming.sequences["T1gd"], naming.sequences["T1pre"], naming.sequences["FLAIR"], naming.t2, naming.seg)
        problems.extend(_grid_problems(name, present, grids, order))
    seg = files[naming.seg]
    enhancing = None
    if seg is not None and naming.seg in grids:
        try:
            labels = (cache or _LabelCache(None)).get(name, seg)
            enhancing = label_convention(name, seg, labels, naming)
        except InputError as exc:
            problems.append(exc)
    if problems:
        return None, problems
    record = PatientRecord(
        patient_id=pid,
        images={seq: files[s] for seq, s in naming.sequences.items()},
        lesions=seg,
        metadata={
            "source": "brats",
            "case": name,
            "naming": naming.name,
            "label_convention": None if enhancing is None else ("2018-2021" if enhancing == 4 else "2023"),
            "preprocessed": True,  # skull-stripped and co-registered by the release
            "skull_stripped": True,
            "coregistered": True,
            "lesion_labels": list(lesion_labels),
            "t2w": str(files[naming.t2]) if files[naming.t2] else None,
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
    cases, strays = find_cases(root)
    for case in (*cases, *strays):
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
        raise ValueError(f"no BraTS case folders (<case>/<case>-t1c.nii.gz, ... or <case>/<case>_t1ce.nii.gz, ...) found under {root}")
    if problems:
        left_out = sorted({p.patient for p in problems})
        log.warning("BraTS: %d case(s) left out (%s), %d go on", len(left_out), ", ".join(left_out), len(records))
    check_patient_ids(r.patient_id for r in records)
    return records
