"""Benchmark: final mutual information and residual local shift of own and
swapped sequences, at the demo's scale, for choosing
preprocessing.registration.min_mutual_information and max_residual_shift_mm.

    python benchmarks/registration_floor.py --patients 18 --swaps 2 --out mi.tsv

Simulates the first patients of the demo's cohort (config.yaml's phantom
settings and seed), stores each image in canonical voxel order as the
workflow's ingest does, then registers with the workflow's settings every
moving sequence onto its own patient's BRAVO ("own") and the same sequence
of the next ``--swaps`` patients onto that BRAVO ("swapped"). Prints the range of each per sequence,
and how many swaps each check catches at the config's setting.
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

    settings = config["preprocessing"]["registration"]
    rigid = registration.RigidSettings(**{k: v for k, v in settings.items() if k not in registration.GATE_SETTINGS})
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
                    report = registration.register_rigid(images[pid]["BRAVO"], images[source][seq], work / "x.mat", rigid)
                    rows.append({"bravo_of": pid, "sequence": seq, "sequence_of": source, "kind": kind, **report, "seconds": time.perf_counter() - start})
                    print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(args.out, sep="\t", index=False, float_format="%.4f")
    floor = settings["min_mutual_information"]
    shift = settings.get("max_residual_shift_mm", registration.GATE_SETTINGS["max_residual_shift_mm"])
    voxels = settings.get("max_residual_shift_voxels", registration.GATE_SETTINGS["max_residual_shift_voxels"])
    table["limit_mm"] = [registration.limit_mm(shift, v, voxels) for v in table.moving_voxel_mm]
    table["mi_trips"] = table.mi_after < floor
    table["shift_trips"] = table.residual_shift_mm > table.limit_mm
    summary = table.groupby(["sequence", "kind"]).agg(
        mi_min=("mi_after", "min"), mi_max=("mi_after", "max"), shift_min_mm=("residual_shift_mm", "min"),
        shift_max_mm=("residual_shift_mm", "max"), count=("kind", "size"), mi_trips=("mi_trips", "sum"), shift_trips=("shift_trips", "sum"),
    )
    print(summary.round(3).to_string())
    swapped = table[table.kind == "swapped"]
    own = table[table.kind == "own"]
    print(f"floor in force: {floor}: {int(swapped.mi_trips.sum())} of {len(swapped)} swaps caught, {int(own.mi_trips.sum())} own failed")
    print(
        f"residual shift limit in force: {shift} mm (at least {voxels} voxels): "
        f"{int(swapped.shift_trips.sum())} of {len(swapped)} swaps caught, {int(own.shift_trips.sum())} own failed; "
        f"margins: own {(own.limit_mm - own.residual_shift_mm).min():.2f} mm, swapped {(swapped.residual_shift_mm - swapped.limit_mm).min():.2f} mm"
    )
    print(f"{len(table)} registrations, {table.seconds.sum():.0f} s")


if __name__ == "__main__":
    main()
