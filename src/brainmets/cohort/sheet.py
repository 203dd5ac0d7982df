"""The cohort sheet: one row per patient, listing its files."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import pandas as pd

from ..errors import CohortError
from ..sequences import SEQUENCES
from .validate import check_patient_ids

SHEET_SCHEMA = {
    "type": "object",
    "description": "One row of the cohort sheet (TSV).",
    "properties": {
        "patient_id": {"type": "string", "description": "Alphanumeric id, used as the BIDS subject label."},
        **{seq: {"type": "string", "minLength": 1, "description": f"Path of the {seq} image (NIfTI); an empty cell or no column: not acquired."} for seq in SEQUENCES},
        "lesions": {"type": "string", "description": "Optional binary lesion mask on the reference grid (the BRAVO, else the post-Gd T1)."},
    },
    "required": ["patient_id"],
}


@dataclass
class PatientRecord:
    """Where one patient's inputs are, whatever the source."""

    patient_id: str
    images: dict[str, Path]  # sequence -> NIfTI file or slice folder
    lesions: Path | None = None
    metadata: dict = field(default_factory=dict)
    source: str = "sheet"

    def input_paths(self) -> list[Path]:
        return [*self.images.values(), *([self.lesions] if self.lesions else [])]


def read_sheet(path) -> list[PatientRecord]:
    """Read and validate a cohort sheet; relative paths are taken from the
    sheet's folder."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CohortError(f"cohort sheet {path}, line {line}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    if not text.strip():
        raise CohortError(f"cohort sheet {path}: the file is empty; expected a header line (patient_id and sequence columns) and one line per patient")
    try:
        table = pd.read_csv(io.StringIO(text), sep="\t", dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise CohortError(f"cohort sheet {path}: not a tab-separated table ({' '.join(str(exc).split())})") from None
    table.columns = [c.strip() for c in table.columns]
    if table.empty:
        raise CohortError(f"cohort sheet {path}: no patients (only a header line); add one line per patient")
    records = []
    for line, row in enumerate(table.to_dict("records"), start=2):
        row = {k: v.strip() for k, v in row.items() if v is not None and v.strip() != ""}
        try:
            jsonschema.validate(row, SHEET_SCHEMA)
        except jsonschema.ValidationError as exc:
            raise CohortError(f"cohort sheet {path}, line {line}: {exc.message}") from None
        if not any(seq in row for seq in SEQUENCES):
            raise CohortError(f"cohort sheet {path}, line {line}: patient {row['patient_id']} has no image (columns {', '.join(SEQUENCES)})")
        resolve = lambda p: p if Path(p).is_absolute() else path.parent / p  # noqa: E731
        records.append(
            PatientRecord(
                patient_id=row["patient_id"],
                images={seq: Path(resolve(row[seq])) for seq in SEQUENCES if seq in row},
                lesions=Path(resolve(row["lesions"])) if "lesions" in row else None,
                metadata={k: v for k, v in row.items() if k not in SHEET_SCHEMA["properties"]},
            )
        )
    check_patient_ids(r.patient_id for r in records)
    return records
