"""Benchmark: the registration checks on the phantom's own and swapped
sequences, at the demo's scale: mutual information before and after, the
share of it lost when the result is displaced (min_mi_drop_when_displaced)
and the residual local shift (max_residual_shift_mm). Its real-head
counterpart is benchmarks/registration_real.py.

    python benchmarks/registration_floor.py --patients 18 --swaps 2 --out mi.tsv

Simulates the first patients of the demo's cohort (config.yaml's phantom
settings and seed), stores each image in canonical voxel order as the
workflow's ingest does, then registers with the workflow's settings every
moving sequence onto its own patient's BRAVO ("own") and the same sequence
of the next ``--swaps`` patients onto that BRAVO ("swapped"). Prints the range of each per sequence,
and how many swaps the configured gate catches (and own sequences it refuses).
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


def simulate(config: dict, n: int, work: Path) -> dict[str, dict[str, Path]]:
    """The first ``n`` demo patients, each sequence in canonical voxel order."""
    from brainmets.cohort.header import canonical
    from brainmets.phantom.generate import PhantomConfig, generate_patient, patient_ids, phantom_paths, plan_subgroups
    from brainmets.sequences import SEQUENCES

    phantom = config["phantom"]
    ids = patient_ids(phantom["n_patients"])[:n]
    subgroups = plan_subgroups(phantom["n_patients"], phantom["subgroup_proportions"], config["seed"])
    images = {}
    for index, pid in enumerate(ids):
        out = work / f"sub-{pid}"
        generate_patient(PhantomConfig.from_dict(phantom), config["seed"], index, pid, subgroups[pid], phantom_paths(out, pid))
        images[pid] = {}
        for seq, path in ((s, phantom_paths(out, pid)[s]) for s in SEQUENCES):
            img = nib.load(str(path))
            data, affine = canonical(np.asarray(img.dataobj), img.affine)
            images[pid][seq] = work / f"{pid}_{seq}.nii.gz"
            nib.save(nib.Nifti1Image(data, affine), str(images[pid][seq]))
        print(f"patient {pid}: BRAVO {nib.load(str(images[pid]['BRAVO'])).shape}", flush=True)
    return images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml")
    parser.add_argument("--patients", type=int, default=5)
    parser.add_argument("--swaps", type=int, default=1, help="other patients whose sequences each BRAVO is given")
    parser.add_argument("--out", type=Path, default=Path("registration_floor.tsv"))
    args = parser.parse_args()
    config = yaml.safe_load(args.config.read_text())
    from brainmets.preprocessing import registration
    from brainmets.preprocessing.settings import RegistrationSettings

    settings = RegistrationSettings.from_config(config["preprocessing"]["registration"])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        images = simulate(config, args.patients, work)
        pids = list(images)
        for i, pid in enumerate(pids):
            others = [pids[(i + k) % len(pids)] for k in range(1, args.swaps + 1)]
            for seq in (s for s in images[pid] if s != "BRAVO"):
                for kind, source in (("own", pid), *(("swapped", o) for o in others)):
                    start = time.perf_counter()
                    report = registration.register_rigid(images[pid]["BRAVO"], images[source][seq], work / "x.mat", settings.rigid)
                    problem = registration.implausible(report, settings)
                    rows.append({"bravo_of": pid, "sequence": seq, "sequence_of": source, "kind": kind, **report, "refused": problem is not None, "problem": problem, "seconds": time.perf_counter() - start})
                    print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(args.out, sep="\t", index=False, float_format="%.4f")
    table["mi_change"] = table.mi_after - table.mi_before
    table["limit_mm"] = [registration.limit_mm(settings.max_residual_shift_mm, v, settings.max_residual_shift_voxels) for v in table.moving_voxel_mm]
    table["shift_trips"] = table.residual_shift_mm > table.limit_mm
    table["drop_trips"] = ~(table.mi_drop_when_displaced >= settings.min_mi_drop_when_displaced)
    summary = table.groupby(["sequence", "kind"]).agg(
        count=("kind", "size"), mi_min=("mi_after", "min"), mi_max=("mi_after", "max"), mi_change_min=("mi_change", "min"),
        drop_min=("mi_drop_when_displaced", "min"), drop_max=("mi_drop_when_displaced", "max"),
        shift_min_mm=("residual_shift_mm", "min"), shift_max_mm=("residual_shift_mm", "max"),
        shift_trips=("shift_trips", "sum"), drop_trips=("drop_trips", "sum"), refused=("refused", "sum"),
    )
    print(summary.round(3).to_string())
    swapped = table[table.kind == "swapped"]
    own = table[table.kind == "own"]
    print(f"gate in force: {int(swapped.refused.sum())} of {len(swapped)} swaps refused, {int(own.refused.sum())} of {len(own)} own refused")
    print(
        f"margins of the residual shift: own {(own.limit_mm - own.residual_shift_mm).min():.2f} mm, "
        f"swapped {(swapped.residual_shift_mm - swapped.limit_mm).min():.2f} mm"
    )
    print(f"{len(table)} registrations, {table.seconds.sum():.0f} s")


if __name__ == "__main__":
    main()
