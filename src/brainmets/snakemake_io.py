"""Glue between Snakemake ``script:`` files and the package.

Each script calls :func:`logged` so that its messages go to the rule's log
file, and any failure ends the job with one line on the console naming the
patient (where the job has one), the file and the problem; the traceback
goes to the log only.
"""

from __future__ import annotations

import contextlib
import logging
import sys


@contextlib.contextmanager
def logged(smk):
    """Route logging of a Snakemake job to its log file (and stderr)."""
    log_path = smk.log[0] if len(smk.log) else None
    handlers = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    log = logging.getLogger("brainmets")
    try:
        yield log
    except Exception as exc:
        log.error("%s%s", failure_line(smk, exc), f" (log: {log_path})" if log_path else "")
        # The traceback to the log file only; the console has the one line.
        if log_path:
            import traceback

            for handler in logging.getLogger().handlers:
                handler.flush()
            with open(log_path, "a") as fh:
                traceback.print_exc(file=fh)
        raise SystemExit(1) from None


def network_patients(ins, pids, sequences, labelled: bool = False, prefix: str = "") -> dict[str, dict]:
    """Patient id -> {"images": by sequence, "brain_mask"[, "lesions"]} from
    a rule's per-patient input lists (``network_inputs`` in
    ``rules/common.smk``), which follow the order of ``pids``; ``prefix``:
    of the input names (another grid's inputs)."""
    patients = {}
    for i, pid in enumerate(pids):
        patients[pid] = {"images": {seq: ins[prefix + seq][i] for seq in sequences}, "brain_mask": ins[prefix + "brain_mask"][i]}
        if labelled:
            patients[pid]["lesions"] = ins[prefix + "lesions"][i]
    return patients


def failure_line(smk, exc: BaseException) -> str:
    """One line naming the job's patient (if any), the file and the problem."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    pid = dict(getattr(smk, "wildcards", {}) or {}).get("pid")
    if text.startswith(("patient ", "invalid cohort", "cohort sheet", "model file")):
        return text
    where = f"patient '{pid}', " if pid else ""
    if isinstance(exc, OSError) and exc.filename:
        return f"{where}file {exc.filename}: {exc.strerror or text}"
    inputs = [str(f) for f in getattr(smk, "input", [])]
    named = next((f for f in inputs if f in text), None)
    if named is None and inputs:
        named = inputs[0] if len(inputs) == 1 else f"{inputs[0]} (and {len(inputs) - 1} more inputs)"
    return f"{where}file {named}: {type(exc).__name__}: {text}" if named else f"{where}{type(exc).__name__}: {text}"
