"""Benchmark: ``brainmets-predict`` on the real cases of ``../shared/realdata``.

    python benchmarks/predict_real.py [--model results/demo/models/main] --out /tmp/predict_real

Without ``--model``, the command's default: the shipped model.

Runs the command as a user would (a subprocess, default settings, T1, T1ce
and FLAIR given, no BRAVO) on each BraTS 2018 case and on the BraTS 2023
case, then once more on the first BraTS 2018 case with the next case's FLAIR
(which must be refused). Prints, per case: exit status, wall time, the
lesions found, and for the labelled cases the tumour-core Dice and whether
the core was touched (labels 1 and 4), and the command's last line on a
failure.

These cases are development data: they judge whether real scans go
through, and a model's numbers on them are development numbers.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"


def cases() -> list[tuple[str, dict[str, Path], Path | None]]:
    """(id, sequences, segmentation) of every real case."""
    out = []
    for case in sorted(p for p in (REALDATA / "brats2018").iterdir() if p.is_dir()):
        files = {seq: case / f"{case.name}_{s}.nii.gz" for seq, s in (("T1pre", "t1"), ("T1gd", "t1ce"), ("FLAIR", "flair"))}
        out.append((case.name.replace("_", ""), files, case / f"{case.name}_seg.nii.gz"))
    layout = REALDATA / "brats_layout" / "BraTS-GLI-00001-000"
    files = {seq: layout / f"{layout.name}-{s}.nii.gz" for seq, s in (("T1pre", "t1n"), ("T1gd", "t1c"), ("FLAIR", "t2f"))}
    out.append(("BraTSGLI00001000", files, None))
    return out


def predict(pid: str, files: dict, model: Path | None, out: Path) -> tuple[int, float, str]:
    args = [f"--{seq.lower()}={path}" for seq, path in files.items()] + ([f"--model={model}"] if model else [])
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "brainmets.predict", *args, f"--out={out}", f"--id={pid}", "--overwrite"],
        capture_output=True, text=True,
    )
    last = next((line for line in reversed(result.stderr.splitlines()) if line.strip()), "")
    return result.returncode, time.perf_counter() - start, last


def core_scores(mask: np.ndarray, core: np.ndarray, tumour: np.ndarray | None = None) -> dict:
    """Tumour-core Dice of a predicted mask, its 26-connected components
    touching no core (false positives; and touching no part of ``tumour``,
    oedema included, where given), and whether the core was touched."""
    dice = 2 * (mask & core).sum() / max(mask.sum() + core.sum(), 1)
    components, n = ndimage.label(mask, structure=np.ones((3, 3, 3)))
    scores = {"dice": float(dice), "core_touched": bool((mask & core).any())}
    for name, region in (("fp_components", core), ("fp_outside_tumour", tumour)):
        if region is not None:
            scores[name] = n - len(set(np.unique(components[region & mask])) - {0})
    return scores


def score(out: Path, pid: str, seg: Path) -> dict:
    """Tumour-core Dice of the mask written, whether the core was touched."""
    report = json.loads((out / f"sub-{pid}_desc-predict.json").read_text())
    mask = np.asarray(nib.load(report["outputs"]["mask"]).dataobj) > 0
    labels = np.asarray(nib.load(str(seg)).dataobj)
    return {**core_scores(mask, np.isin(labels, (1, 4)), labels > 0), "lesions": report["lesions"], "threshold": report["threshold"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a trained model folder (default: the shipped model)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if not REALDATA.is_dir():
        raise SystemExit(f"{REALDATA} is absent: this benchmark needs the shared real images")
    rows = []
    every = cases()
    for pid, files, seg in every:
        code, seconds, last = predict(pid, files, args.model, args.out / pid)
        row = {"case": pid, "inputs": "own", "exit": code, "seconds": round(seconds, 1)}
        if code == 0 and seg is not None:
            row.update(score(args.out / pid, pid, seg))
        elif code != 0:
            row["message"] = last
        rows.append(row)
        print(row, flush=True)
    (pid, files, _), (other, other_files, _) = every[0], every[1]
    code, seconds, last = predict(pid, {**files, "FLAIR": other_files["FLAIR"]}, args.model, args.out / f"{pid}swapped")
    rows.append({"case": pid, "inputs": f"FLAIR of {other}", "exit": code, "seconds": round(seconds, 1), "message": last})
    print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(args.out / "predict_real.tsv", sep="\t", index=False)
    print(table.drop(columns=["message"], errors="ignore").to_string(index=False))
    own = table[table.inputs == "own"]
    print(f"own inputs: {int((own.exit == 0).sum())} of {len(own)} exit 0; median {own.seconds.median():.0f} s per case")
    if "dice" in own:
        scored = own.dropna(subset=["dice"])
        print(
            f"labelled: {len(scored)} cases, mean tumour-core Dice {scored.dice.mean():.3f}, core touched in "
            f"{int(scored.core_touched.sum())}, {scored.fp_components.mean():.1f} false-positive components per case "
            f"({scored.fp_outside_tumour.mean():.1f} outside the whole tumour)"
        )


if __name__ == "__main__":
    main()
