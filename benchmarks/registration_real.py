"""Benchmark: the registration checks on real heads (``../shared/realdata``).

    python benchmarks/registration_real.py --out registration_real.tsv [--config configs/brats.yaml]

Registers, with the configuration's rigid settings, every real pair at hand
and reports what the gate looks at: mutual information before and after,
the share of it lost when the registered image is displaced by 8 mm
(``mi_drop_when_displaced``), and the residual local shift.

* own: a real patient's own sequences onto its post-contrast T1 (BraTS 2018
  T1, T2 and FLAIR onto the T1ce; the BraTS 2023 case's t1n, t2w and t2f
  onto its t1c), all delivered already aligned on one grid; and a real
  proton-density image onto a T1 of the same head on another grid;
* moved: a real T1 moved by a known rigid transform, back onto itself;
* swapped: a sequence of the next BraTS 2018 case onto a case's T1ce
  (another head in the same atlas space, the hardest swap to see);
* degenerate: noise, and a volume that is constant inside the head, onto a
  real T1ce (nothing to align).

Prints, per kind and sequence, the range of each measure and how many the
configured gate refuses; the table of checks in docs/own-data.md quotes it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"


def brats2018_cases(root: Path) -> dict[str, dict[str, Path]]:
    cases = {}
    for case in sorted(p for p in root.iterdir() if p.is_dir()):
        cases[case.name] = {s: case / f"{case.name}_{s}.nii.gz" for s in ("t1", "t1ce", "t2", "flair")}
    return cases


def pairs(work: Path) -> list[tuple[str, str, str, Path, Path]]:
    """(kind, label, sequence, fixed, moving) of every real pair."""
    from brainmets.geometry import resample_to_grid, rigid
    from brainmets.niio import save_nifti

    out = []
    cases = brats2018_cases(REALDATA / "brats2018")
    names = list(cases)
    for i, name in enumerate(names):
        other = names[(i + 1) % len(names)]
        for seq in ("t1", "t2", "flair"):
            out.append(("own", name, seq, cases[name]["t1ce"], cases[name][seq]))
        for seq in ("t1", "flair"):
            out.append(("swapped", f"{name}<-{other}", seq, cases[name]["t1ce"], cases[other][seq]))
    layout = REALDATA / "brats_layout" / "BraTS-GLI-00001-000"
    for seq in ("t1n", "t2w", "t2f"):
        out.append(("own", layout.name, seq, layout / f"{layout.name}-t1c.nii.gz", layout / f"{layout.name}-{seq}.nii.gz"))
    chris = REALDATA / "chris"
    out.append(("own", "chris", "PD", chris / "chris_t1.nii.gz", chris / "chris_PD.nii.gz"))
    img = nib.load(str(chris / "chris_t1.nii.gz"))
    data = np.asarray(img.dataobj, np.float32)
    motion = rigid([6.0, -4.0, 5.0], [7.0, -5.0, 4.0])
    moved = resample_to_grid(data, img.affine, data.shape, img.affine, order=1, target_to_source=np.linalg.inv(motion))
    save_nifti(work / "chris_t1_moved.nii.gz", moved, img.affine)
    out.append(("moved", "chris", "T1", chris / "chris_t1.nii.gz", work / "chris_t1_moved.nii.gz"))
    # Nothing to align: noise, and a head-shaped constant, on a real T1ce's grid.
    first = cases[names[0]]["t1ce"]
    ref = nib.load(str(first))
    ref_data = np.asarray(ref.dataobj, np.float32)
    rng = np.random.default_rng(0)
    save_nifti(work / "noise.nii.gz", rng.random(ref_data.shape).astype(np.float32), ref.affine)
    save_nifti(work / "flat.nii.gz", (ref_data > 0).astype(np.float32) * 100.0, ref.affine)
    out.append(("degenerate", names[0], "noise", first, work / "noise.nii.gz"))
    out.append(("degenerate", names[0], "flat head", first, work / "flat.nii.gz"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml")
    parser.add_argument("--out", type=Path, default=Path("registration_real.tsv"))
    args = parser.parse_args()
    if not REALDATA.is_dir():
        raise SystemExit(f"{REALDATA} is absent: this benchmark needs the shared real images")
    from brainmets.preprocessing import registration
    from brainmets.preprocessing.settings import RegistrationSettings

    settings = RegistrationSettings.from_config(yaml.safe_load(args.config.read_text())["preprocessing"]["registration"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for kind, label, seq, fixed, moving in pairs(work):
            start = time.perf_counter()
            report = registration.register_rigid(fixed, moving, work / "x.mat", settings.rigid)
            problem = registration.implausible(report, settings)
            rows.append({"kind": kind, "case": label, "sequence": seq, **report, "refused": problem is not None, "problem": problem, "seconds": time.perf_counter() - start})
            shown = {k: rows[-1][k] for k in ("kind", "case", "sequence", "mi_before", "mi_after", "mi_drop_when_displaced", "residual_shift_mm", "refused")}
            print(shown, flush=True)
    table = pd.DataFrame(rows).drop(columns=["residual_shift_blocks"])
    table.to_csv(args.out, sep="\t", index=False, float_format="%.4f")
    table["mi_change"] = table.mi_after - table.mi_before
    summary = table.groupby(["kind", "sequence"]).agg(
        count=("kind", "size"), mi_after_min=("mi_after", "min"), mi_after_max=("mi_after", "max"),
        mi_change_min=("mi_change", "min"), drop_min=("mi_drop_when_displaced", "min"), drop_max=("mi_drop_when_displaced", "max"),
        shift_min_mm=("residual_shift_mm", "min"), shift_max_mm=("residual_shift_mm", "max"), refused=("refused", "sum"),
    )
    print(summary.round(3).to_string())
    print(f"{len(table)} registrations, {table.seconds.sum():.0f} s")


if __name__ == "__main__":
    main()
