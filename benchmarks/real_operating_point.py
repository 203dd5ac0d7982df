"""Benchmark: how a model's probability maps on the real development cases
become masks, over operating thresholds and least lesion peaks.

    python benchmarks/predict_real.py --out /tmp/real          # the maps
    python benchmarks/real_operating_point.py --maps /tmp/real [--model M]

For each labelled BraTS 2018 case of ``../shared/realdata`` (tumour core:
labels 1 and 4), the mask is drawn from the map written by
``brainmets-predict`` as prediction draws it (``lesions.confident_components``,
then the card's lesion instances) at each candidate threshold of the
model's input set without BRAVO (its ``youden`` and ``dice`` operating
points, chosen on synthetic development patients) and each least peak
(``evaluation.lesion_min_peak_probability``). Prints the mean tumour-core
Dice, false-positive components per case and cores touched of each
setting, and a leave-one-case-out estimate of choosing the setting on
these cases: each case scored at the setting that the other cases favour
(highest mean Dice with at most ``--fp-limit`` false positives per case).

These cases are development data: a setting chosen here is a development
choice, and the leave-one-case-out numbers say how much of its score is
the choosing.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import nibabel as nib
import numpy as np
from predict_real import cases, core_scores

from brainmets.input_sets import label_of
from brainmets.lesions import LesionInstances, confident_components
from brainmets.network.shipped import shipped_model_folder

PEAKS = (0.0, 0.9, 0.95, 0.97, 0.98, 0.99)


def candidate_thresholds(model: Path) -> dict[str, float]:
    """The operating points of the model's input set without BRAVO."""
    thresholds = json.loads((model / "threshold.json").read_text())
    point = thresholds.get("input_sets", {}).get(label_of(["BRAVO"]), thresholds)
    return {name: float(c["threshold"]) for name, c in point["candidates"].items() if name in ("youden", "dice")}


def case_scores(prob: np.ndarray, affine, core: np.ndarray, instances: LesionInstances, settings) -> dict:
    """(threshold, peak) -> (Dice, false-positive components, core touched)."""
    out = {}
    for cut, peak in settings:
        labels, _ = instances.label(confident_components(prob >= cut, prob, peak, instances.connectivity), affine)
        scores = core_scores(labels > 0, core)
        out[(cut, peak)] = (scores["dice"], scores["fp_components"], scores["core_touched"])
    return out


def leave_one_out(scores: list[dict], settings, fp_limit: float) -> tuple[np.ndarray, list]:
    """Each case at the setting the other cases favour."""
    held, picks = [], []
    for k in range(len(scores)):
        rest = [s for j, s in enumerate(scores) if j != k]

        def favour(setting):
            values = np.array([s[setting] for s in rest], float)
            return (values[:, 1].mean() <= fp_limit, values[:, 0].mean())

        pick = max(settings, key=favour)
        picks.append(pick)
        held.append(scores[k][pick])
    return np.array(held, float), picks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--maps", type=Path, required=True, help="predict_real.py's --out folder")
    parser.add_argument("--model", type=Path, help="the model that wrote them (default: the shipped model)")
    parser.add_argument("--peaks", type=float, nargs="+", default=PEAKS)
    parser.add_argument("--fp-limit", type=float, default=3.0)
    args = parser.parse_args()
    model = args.model or shipped_model_folder()
    card = json.loads((model / "model.json").read_text())
    instances = LesionInstances(**card.get("training_cohort", {}).get("lesion_instances", {}))
    thresholds = candidate_thresholds(model)
    settings = list(itertools.product(sorted(set(thresholds.values())), args.peaks))
    names = {value: name for name, value in thresholds.items()}
    scores, ids = [], []
    for pid, _, seg in cases():
        if seg is None:
            continue
        maps = sorted((args.maps / pid).glob(f"sub-{pid}_space-*_desc-lesion_probseg.nii.gz"))
        if not maps:
            raise SystemExit(f"case {pid}: no probability map in {args.maps / pid}; run predict_real.py --out {args.maps} first")
        image = nib.load(str(maps[0]))
        core = np.isin(np.asarray(nib.load(str(seg)).dataobj), (1, 4))
        scores.append(case_scores(np.asarray(image.dataobj, np.float32), image.affine, core, instances, settings))
        ids.append(pid)
    print(f"{len(ids)} labelled cases, model {model}")
    print("threshold        least peak  Dice   FP/case  cores touched")
    for cut, peak in settings:
        values = np.array([s[(cut, peak)] for s in scores], float)
        print(f"{names[cut]:>6} {cut:.3f}   {peak:>9.3f}  {values[:, 0].mean():.3f}  {values[:, 1].mean():7.1f}  {int(values[:, 2].sum())} of {len(ids)}")
    held, picks = leave_one_out(scores, settings, args.fp_limit)
    print(
        f"leave one case out (highest Dice with at most {args.fp_limit:g} FP per case on the others): Dice {held[:, 0].mean():.3f}, "
        f"{held[:, 1].mean():.1f} FP per case, cores touched {int(held[:, 2].sum())} of {len(ids)}"
    )
    for pid, (dice, fp, touched), (cut, peak) in zip(ids, held, picks):
        print(f"  {pid}: {names[cut]} {cut:.3f}, least peak {peak:g}: Dice {dice:.2f}, {int(fp)} FP{'' if touched else ', core missed'}")


if __name__ == "__main__":
    main()
