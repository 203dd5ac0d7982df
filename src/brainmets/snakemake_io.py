"""Glue between Snakemake ``script:`` files and the package.

Each script calls :func:`logged` so that its messages, and the native
output of the libraries and tools it runs, go to the rule's log file, and
any failure ends the job with one line on the console naming the
patient (where the job has one), the file and the problem; the traceback
goes to the log only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from .errors import NamedError


@contextlib.contextmanager
def logged(smk):
    """Route a Snakemake job's output to its log file: Python logging (also
    to the console), and the native output of the process and its children
    (TensorFlow's and ANTs' C++ messages, FSL, ``print``) by pointing file
    descriptors 1 and 2 at the log for the duration; both are restored on
    exit."""
    log_path = smk.log[0] if len(smk.log) else None
    if log_path:
        open(log_path, "w").close()  # one file, appended to by every writer below
    with _native_output_to(log_path) as console:
        handlers = [logging.StreamHandler(console)]
        if log_path:
            handlers.append(logging.FileHandler(log_path, mode="a"))
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

                for handler in handlers:
                    handler.flush()
                with open(log_path, "a") as fh:
                    traceback.print_exc(file=fh)
            raise SystemExit(1) from None
        finally:
            for handler in handlers:
                handler.flush()
            if console is not sys.stderr:
                # Its stream closes with the redirection; the log file stays.
                logging.getLogger().removeHandler(handlers[0])


def _flush_all() -> None:
    """Flush Python's and the C library's buffered standard streams."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def _native_output_to(log_path):
    """File descriptors 1 and 2 point at ``log_path`` (appending) inside the
    block; yields a stream to the console's standard error for the messages
    that belong there (``sys.stderr`` itself where it does not write to
    descriptor 2, e.g. under a test's capture). No log: nothing changes."""
    if not log_path:
        yield sys.stderr
        return
    _flush_all()
    try:
        saved = {fd: os.dup(fd) for fd in (1, 2)}
    except OSError:  # a closed standard stream: leave them be
        yield sys.stderr
        return
    try:
        on_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        on_fd2 = False
    console = os.fdopen(os.dup(saved[2]), "w", buffering=1) if on_fd2 else sys.stderr
    target = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        for fd in (1, 2):
            os.dup2(target, fd)
        yield console
    finally:
        _flush_all()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(target)
        if console is not sys.stderr:
            console.close()


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


def patients_on_every_grid(ins, params) -> tuple[dict, dict]:
    """Labelled patients' network inputs (``network_patients``) on the
    workflow's grid, and, where it has another reference, on that one's
    (``params.grids``: ``NETWORK_GRIDS`` in ``rules/common.smk``; the
    ``alt_`` inputs of ``labelled_network_inputs``), by that reference."""
    grids = params.grids
    patients = network_patients(ins, params.patients, grids["sequences"], labelled=True)
    other = grids["alternative_reference"]
    on_grid = {other: network_patients(ins, params.patients, grids["alternative_sequences"], True, "alt_")} if other else {}
    return patients, on_grid


def phantom_truth(ins) -> dict | None:
    """The phantom's ground-truth files among a rule's inputs (truth_<name>,
    ``phantom_truth`` in ``rules/common.smk``) by name, or None (another
    cohort)."""
    truth = {name.removeprefix("truth_"): path for name, path in ins.items() if name.startswith("truth_")}
    return truth or None


def failure_line(smk, exc: BaseException) -> str:
    """One line naming the job's patient (if any), the file and the problem."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    pid = dict(getattr(smk, "wildcards", {}) or {}).get("pid")
    where = f"patient '{pid}', " if pid else ""
    if isinstance(exc, NamedError):
        return text if exc.names_patient or not pid else where + text
    if isinstance(exc, OSError) and exc.filename:
        return f"{where}file {exc.filename}: {exc.strerror or text}"
    inputs = [str(f) for f in getattr(smk, "input", [])]
    named = next((f for f in inputs if f in text), None)
    if named is None and inputs:
        named = inputs[0] if len(inputs) == 1 else f"{inputs[0]} (and {len(inputs) - 1} more inputs)"
    return f"{where}file {named}: {type(exc).__name__}: {text}" if named else f"{where}{type(exc).__name__}: {text}"
