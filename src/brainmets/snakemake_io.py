"""Glue between Snakemake ``script:`` files and the package.

Each script calls :func:`logged` so that its messages go to the rule's log
file, and a failure ends the job with a one-line reason on the console as
well as a traceback in the log.
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
        log.error("%s", exc)
        log.debug("traceback", exc_info=True)
        if log_path:
            import traceback

            with open(log_path, "a") as fh:
                traceback.print_exc(file=fh)
        raise SystemExit(1) from exc
