"""Which series is which sequence, from SeriesDescription patterns.

Patterns are regular expressions (case-insensitive search), configurable
per site; the resulting table is written for the user to check.
"""

from __future__ import annotations

import re

import pandas as pd

from ..sequences import SEQUENCES
from .series import DicomError, Series

# GE naming of the paper's protocol; sites override them.
DEFAULT_PATTERNS = {
    "T1pre": r"(pre|without|w/o).*(t1|cube)|(t1|cube).*(pre|without|w/o)",
    "T1gd": r"(post|gd|\+c|with contrast).*cube|cube.*(post|gd|\+c)",
    "BRAVO": r"bravo|fspgr",
    "FLAIR": r"flair",
}


def map_series(patient: str, series: list[Series], patterns: dict | None = None, required=SEQUENCES) -> tuple[dict[str, Series], pd.DataFrame]:
    patterns = {**DEFAULT_PATTERNS, **(patterns or {})}
    rows, chosen = [], {}
    for s in series:
        matches = [seq for seq in SEQUENCES if re.search(patterns[seq], s.description, re.IGNORECASE)]
        if len(matches) > 1:
            raise DicomError(patient, s.label(), f"description matches several sequences ({', '.join(matches)}); adjust the patterns")
        rows.append({"series_uid": s.uid, "description": s.description, "modality": s.modality, "files": len(s.files), "sequence": ",".join(matches) or "-"})
        for seq in matches:
            chosen.setdefault(seq, []).append(s)
    table = pd.DataFrame(rows)
    for seq, found in chosen.items():
        if len(found) > 1:
            names = ", ".join(f"'{s.description}'" for s in found)
            raise DicomError(patient, f"sequence {seq}", f"several series match its pattern {patterns[seq]!r}: {names}")
    missing = [seq for seq in required if seq not in chosen]
    if missing:
        raise DicomError(patient, f"sequence(s) {', '.join(missing)}", f"no series description matches; series found: {', '.join(repr(s.description) for s in series)}")
    return {seq: found[0] for seq, found in chosen.items()}, table
