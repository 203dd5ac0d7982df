"""Benchmark: final mutual information of own and swapped sequences, at the
demo's scale, for choosing preprocessing.registration.min_mutual_information.

    python benchmarks/registration_floor.py --patients 18 --swaps 2 --out mi.tsv

Simulates the first patients of the demo's cohort (config.yaml's phantom
settings and seed), stores each image in canonical voxel order as the
workflow's ingest does, then registers with the workflow's settings every
moving sequence onto its own patient's BRAVO ("own") and the same sequence
of the next ``--swaps`` patients onto that BRAVO ("swapped"). Prints the range of each per sequence.
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
        generate_patient(PhantomConfig.from_dict(phantom), config["seed"], index, pid, subgroups[pid], out)
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
    print(table.groupby(["sequence", "kind"]).mi_after.agg(["min", "max", "count"]).round(3).to_string())
    print(f"floor in force: {settings['min_mutual_information']}")


if __name__ == "__main__":
    main()
