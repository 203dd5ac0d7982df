"""``brainmets-phantom``: write synthetic patients outside the workflow.

    brainmets-phantom --out phantom/ --patients 6 --scale 4

Each patient gets the folder the workflow's ``phantom_patient`` rule
writes (``sub-<id>/anat`` images, ``truth/``, ``sub-<id>_phantom.json``),
with the same seeds, so the same settings give the same bytes.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .generate import PhantomConfig, generate_patient, patient_ids, phantom_paths, plan_subgroups


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="brainmets-phantom", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder to write sub-<id>/ into")
    parser.add_argument("--patients", type=int, default=PhantomConfig.n_patients, help="cohort size (default %(default)s)")
    parser.add_argument("--seed", type=int, default=20200101, help="master seed (default %(default)s, as config.yaml)")
    parser.add_argument("--scale", type=float, default=PhantomConfig.resolution_scale, help="voxel size multiplier: 1 = the paper's protocol, 2 = the demo (default %(default)s)")
    parser.add_argument("--anatomy", choices=("analytic", "mni152"), default="analytic", help="the exact phantom, or real MNI152 anatomy with randomised contrast (default %(default)s)")
    parser.add_argument("--only", nargs="*", help="write only these patient ids (e.g. 003 017)")
    return parser


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    cfg = PhantomConfig(n_patients=args.patients, resolution_scale=args.scale, anatomy=args.anatomy)
    ids = patient_ids(args.patients)
    subgroups = plan_subgroups(args.patients, cfg.subgroup_proportions, args.seed)
    for index, pid in enumerate(ids):
        if args.only and pid not in args.only:
            continue
        meta = generate_patient(cfg, args.seed, index, pid, subgroups[pid], phantom_paths(args.out / f"sub-{pid}", pid))
        logging.info("patient %s (%s): %d lesions", pid, subgroups[pid], meta["n_lesions"])


if __name__ == "__main__":
    main()
