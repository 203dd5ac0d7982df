"""One patient per output folder, complete or absent.

Outputs are written into a hidden folder beside the output folder and
renamed into place once complete: a killed run leaves the previous outputs
as they were (and a hidden partial folder), never a mix. A folder that
already holds files (another patient's, or an earlier run's) is refused
unless ``overwrite``, which removes them first.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import NamedError


class OutputFolderError(NamedError):
    def __init__(self, patient: str, folder, problem: str):
        super().__init__(f"patient {patient!r}, file {folder}: {problem}")


def check_output_folder(final: Path, pid: str, overwrite: bool) -> None:
    """Refuse, before any work, an output folder this run may not fill."""
    if final.exists() and not final.is_dir():
        raise OutputFolderError(pid, final, "the output folder is a file")
    if final.is_dir() and not overwrite:
        held = sorted(p.name for p in final.iterdir())
        if held:
            others = sorted({n.split("_")[0] for n in held if n.startswith("sub-")} - {f"sub-{pid}"})
            whose = f"outputs of {', '.join(others)}" if others else "an earlier run's outputs"
            shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
            raise OutputFolderError(pid, final, f"the output folder holds {len(held)} entries ({whose}: {shown}); give --overwrite to replace them, or another folder")


@contextlib.contextmanager
def stage_outputs(final: Path, pid: str, overwrite: bool):
    """A fresh staging folder; moved to ``final`` when the block succeeds,
    removed when it fails."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.sub-{pid}.partial-"))
    except OSError as exc:
        raise OutputFolderError(pid, final, f"cannot write beside the output folder ({exc.strerror or exc})") from exc
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(stage, 0o777 & ~umask)  # mkdtemp's folder is private; outputs are shared like any
    try:
        yield stage
        if final.exists():
            if overwrite:
                shutil.rmtree(final)
            else:
                final.rmdir()  # still empty (checked before); fails if another run wrote meanwhile
        os.rename(stage, final)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
