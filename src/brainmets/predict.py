"""``brainmets-predict``: metastases of a new patient from a trained model.

Given the patient's sequences as NIfTI (all four, or three with a model
trained with sequence dropout) and a model folder of this workflow
(``results/<run>/models/<name>``), it runs the workflow's preprocessing
(brain extraction, co-registration onto the BRAVO, normalization) with the
settings the model was trained with, then writes, in the output folder:

* ``sub-<id>_space-BRAVO_desc-lesion_probseg.nii.gz``: probabilities 0-1 on
  the patient's own BRAVO grid, with its affine;
* ``sub-<id>_space-BRAVO_desc-lesion_mask.nii.gz``: lesions at the model's
  operating threshold (or ``--threshold``);
* ``sub-<id>_desc-lesions.tsv``: one row per lesion: id, volume (mm^3),
  longest diameter (mm), centroid in scanner (RAS) coordinates (mm);
* ``sub-<id>_desc-predict.json``: the model, threshold and timings used;
* ``work/``: the preprocessed images and QC pictures.

Sequences may be given as DICOM series folders, or all at once with
``--dicom-study`` (a study folder; series are assigned to sequences by
SeriesDescription patterns, and the assignment is written to
``sub-<id>_desc-series.tsv`` for checking). When the BRAVO came from DICOM,
the lesions are also written as ``sub-<id>_seg.dcm`` (DICOM-SEG) and
``sub-<id>_rtstruct.dcm`` (RT Structure Set), referencing the BRAVO series;
``--deidentify SALT`` gives them a pseudonymous patient name and id.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from .cohort.validate import load_image
from .geometry import resample_to_grid
from .lesions import lesion_table_from_mask
from .niio import atomic_write_text, load_nifti, save_nifti
from .sequences import REFERENCE, SEQUENCES

log = logging.getLogger("brainmets.predict")
REQUIRED = ("T1pre", REFERENCE)  # brain extraction and the reference grid


def output_paths(out_dir, pid: str) -> dict[str, Path]:
    d, sub = Path(out_dir), f"sub-{pid}"
    return {
        "probability": d / f"{sub}_space-BRAVO_desc-lesion_probseg.nii.gz",
        "mask": d / f"{sub}_space-BRAVO_desc-lesion_mask.nii.gz",
        "lesions": d / f"{sub}_desc-lesions.tsv",
        "report": d / f"{sub}_desc-predict.json",
        "work": d / "work",
    }


def read_threshold(model_dir, override: float | None) -> float:
    if override is not None:
        return override
    path = Path(model_dir) / "threshold.json"
    if not path.exists():
        raise FileNotFoundError(f"model folder {model_dir}: threshold.json is missing; give --threshold")
    return float(json.loads(path.read_text())["operating_threshold"])


def preprocess(pid: str, images: dict, card: dict, work: Path) -> dict:
    """The workflow's preprocessing chain for one patient, with the model's
    settings; returns paths. A model trained on skull-stripped, co-registered
    images (BrainMetShare, BraTS) expects such inputs: no brain extraction or
    registration then, as in its training."""
    from .layout import preproc_paths
    from .preprocessing.pipeline import preprocess_patient

    paths = {k: str(v) for k, v in preproc_paths(work / "preproc", work / "qc", pid).items()}
    patient_json = work / f"sub-{pid}_patient.json"
    prepared = card.get("training_cohort", {}).get("inputs_preprocessed", False)
    atomic_write_text(patient_json, json.dumps({"patient_id": pid, "metadata": {"preprocessed": prepared}}))
    preprocess_patient(pid, images, patient_json, paths, card["preprocessing"])
    return paths


def dicom_inputs(pid: str, images: dict, study, patterns: dict | None, work: Path) -> tuple[dict, dict]:
    """Convert DICOM inputs to NIfTI; returns the NIfTI paths and, per
    sequence, the DICOM files it came from."""
    from .cohort.ingest import read_dicom_folder
    from .dicom.mapping import map_series
    from .dicom.series import find_series

    folders = {seq: Path(p) for seq, p in images.items() if Path(p).is_dir()}
    if study:
        chosen, table = map_series(pid, find_series(pid, study), patterns, required=REQUIRED)
        atomic_write_text(work.parent / f"sub-{pid}_desc-series.tsv", table.to_csv(sep="\t", index=False))
        for seq, series in chosen.items():
            folder = work / "dicom" / seq
            folder.mkdir(parents=True, exist_ok=True)
            for i, f in enumerate(series.files):
                target = folder / f"{i:05d}.dcm"
                if not target.exists():
                    target.symlink_to(Path(f).resolve())
            folders.setdefault(seq, folder)
    converted, sources = dict(images), {}
    for seq, folder in folders.items():
        data, affine, sidecar = read_dicom_folder(pid, folder)
        out = work / "dicom" / f"sub-{pid}_{seq}.nii.gz"
        save_nifti(out, data, affine)
        atomic_write_text(out.with_suffix("").with_suffix(".json"), json.dumps(sidecar, indent=2))
        converted[seq] = str(out)
        sources[seq] = sorted(p for p in folder.iterdir() if p.is_file())
    return converted, sources


def predict_patient_files(
    pid: str, images: dict, model_dir, out_dir, threshold: float | None = None, batch_size: int = 8,
    dicom_study=None, series_patterns: dict | None = None, deidentify: str | None = None,
) -> dict:
    from .network.inference import predict_patient
    from .network.train import load_trained

    started = time.perf_counter()
    out = output_paths(out_dir, pid)
    images, dicom_sources = dicom_inputs(pid, images, dicom_study, series_patterns, out["work"])
    missing = [seq for seq in SEQUENCES if seq not in images]
    for seq in REQUIRED:
        if seq in missing:
            raise ValueError(f"patient '{pid}': the {seq} sequence is required (brain extraction runs on T1pre, BRAVO is the reference grid)")
    for seq, path in images.items():
        load_image(pid, path)
    model, card = load_trained(model_dir)
    warning = card.get("training_cohort", {}).get("warning")
    if warning:
        log.warning("model %s: %s", model_dir, warning)
    cut = read_threshold(model_dir, threshold)
    if missing and not card.get("sequence_dropout"):
        raise ValueError(f"patient '{pid}': {', '.join(missing)} missing, but model {model_dir} was trained without sequence dropout and needs all four sequences")
    paths = preprocess(pid, images, card, out["work"])
    network_grid = out["work"] / "probability_network_grid.nii.gz"
    preproc = {seq: paths[f"preproc_{seq}"] for seq in SEQUENCES if seq in images}
    inference = predict_patient(model, card, preproc, paths["brain_mask"], network_grid, batch_size)
    # Back onto the patient's own BRAVO grid (identity when the sizes agree).
    prob_net, net_affine = load_nifti(network_grid)
    bravo = load_nifti(images[REFERENCE])
    bravo_shape, bravo_affine = bravo[0].shape, bravo[1]
    prob = np.clip(resample_to_grid(prob_net, net_affine, bravo_shape, bravo_affine, order=1), 0.0, 1.0)
    save_nifti(out["probability"], prob.astype(np.float32), bravo_affine)
    mask = prob >= cut
    save_nifti(out["mask"], mask.astype(np.uint8), bravo_affine)
    table = lesion_table_from_mask(mask, bravo_affine)
    atomic_write_text(out["lesions"], table.drop(columns=["voxels"]).to_csv(sep="\t", index=False, float_format="%.2f"))
    dicom = {}
    if REFERENCE in dicom_sources:
        from .dicom.export import export_lesions

        exported = export_lesions(mask, bravo_affine, dicom_sources[REFERENCE], out_dir, f"sub-{pid}", pid, deidentify)
        dicom = {"seg": exported["seg"] and str(exported["seg"]), "rtstruct": str(exported["rtstruct"]), "segments": exported["segments"]}
    report = {
        "patient_id": pid,
        "inputs": {seq: str(Path(p).resolve()) for seq, p in images.items()},
        "missing_sequences": missing,
        "model": str(Path(model_dir).resolve()),
        "model_fingerprint": card["fingerprint"],
        "model_training_cohort": card.get("training_cohort"),
        "threshold": cut,
        "lesions": int(len(table)),
        "lesion_volume_mm3": float(table.volume_mm3.sum()) if len(table) else 0.0,
        "inference_seconds": round(inference["seconds"], 2),
        "total_seconds": round(time.perf_counter() - started, 2),
        "dicom_outputs": dicom,
        "deidentified": bool(deidentify),
    }
    atomic_write_text(out["report"], json.dumps(report, indent=2))
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="brainmets-predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for seq in SEQUENCES:
        parser.add_argument(f"--{seq.lower()}", metavar="NIFTI", help=f"{seq} image" + (" (required)" if seq in REQUIRED else ""))
    parser.add_argument("--model", required=True, help="trained model folder, e.g. results/demo/models/main")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--id", default="new", help="patient id used in file names (letters and digits)")
    parser.add_argument("--threshold", type=float, help="probability threshold (default: the model's operating threshold)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--dicom-study", metavar="FOLDER", help="DICOM study folder: series are assigned to sequences by description")
    parser.add_argument("--series-patterns", metavar="JSON", help='JSON object of SeriesDescription regular expressions, e.g. {"BRAVO": "bravo"}')
    parser.add_argument("--deidentify", metavar="SALT", help="pseudonymous patient name/id in the DICOM outputs (keep the salt secret)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.id.isalnum():
        parser.error(f"--id {args.id!r}: use letters and digits only")
    images = {seq: getattr(args, seq.lower()) for seq in SEQUENCES if getattr(args, seq.lower())}
    try:
        patterns = json.loads(args.series_patterns) if args.series_patterns else None
        pseudonym_name = None
        if args.deidentify:
            from .dicom.export import pseudonym

            pseudonym_name = pseudonym(args.id, args.deidentify)
        report = predict_patient_files(
            args.id, images, args.model, args.out, args.threshold, args.batch_size, args.dicom_study, patterns, pseudonym_name
        )
    except (ValueError, FileNotFoundError) as exc:
        log.error("%s", exc)
        return 1
    log.info("patient %s: %d lesions, %.0f mm^3, written to %s", args.id, report["lesions"], report["lesion_volume_mm3"], args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
