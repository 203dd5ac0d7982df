"""``brainmets-predict``: metastases of a new patient from a trained model.

Given the patient's sequences as NIfTI (all four, or any subset with a
model trained with sequence dropout, as its card's ``accepted_missing``
says) and a model folder of this workflow (``results/<run>/models/<name>``;
without ``--model``, the shipped model, trained on synthetic patients of
real anatomy only: ``brainmets/models/pretrained/MODEL_CARD.md``),
it runs the workflow's preprocessing (brain extraction on the T1pre, else on
the reference; co-registration onto the reference; normalization) with the
settings the model was trained with. The reference grid is the first of the
card's ``preprocessing.reference`` given: the BRAVO, else the T1gd. It
then writes, in the output folder (``<ref>``: BRAVO or T1gd):

* ``sub-<id>_space-<ref>_desc-lesion_probseg.nii.gz``: probabilities 0-1 on
  the patient's own reference grid, with its affine;
* ``sub-<id>_space-<ref>_desc-lesion_mask.nii.gz``: lesions at the model's
  operating threshold (or ``--threshold``), of the pieces whose probability
  reaches the model's ``lesion_min_peak_probability`` somewhere;
* ``sub-<id>_desc-lesions.tsv``: one row per lesion: id, volume (mm^3),
  longest diameter (mm), centroid in scanner (RAS) coordinates (mm);
* ``sub-<id>_desc-predict.json``: the model, reference, threshold and
  timings used;
* ``sub-<id>_desc-predict.log``: the run's log;
* ``work/``: the inputs in canonical voxel order, the preprocessed images
  and QC pictures, every file named after the patient.

Outputs are written into a hidden folder beside the output folder and moved
into place only when complete; an output folder that holds anything (another
patient's or an earlier run's outputs) is refused unless ``--overwrite``,
which empties it first. Every failure ends with one line naming the patient,
the file and the problem (exit code 1); the traceback goes to the log.

Sequences may be given as DICOM series folders, or all at once with
``--dicom-study`` (a study folder; series are assigned to sequences by
SeriesDescription patterns, and the assignment is written to
``sub-<id>_desc-series.tsv`` for checking). When the reference came from
DICOM, the lesions are also written as ``sub-<id>_seg.dcm`` (DICOM-SEG) and
``sub-<id>_rtstruct.dcm`` (RT Structure Set), referencing its series;
``--deidentify SALT`` gives them a pseudonymous patient name and id.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import nibabel as nib

from .errors import NamedError
from .cohort.validate import PATIENT_ID, InputError, check_content, check_overlap, load_image
from .geometry import resample_to_grid
from .layout import PreprocessingFiles
from .lesions import LesionInstances, confident_components, lesion_table
from .network.shipped import shipped_model_folder
from .niio import atomic_write_text, load_nifti, save_nifti
from .predictor import Predictor
from .sequences import REFERENCE_PREFERENCE, SEQUENCES, PatientGrid
from .staging import check_output_folder, stage_outputs

log = logging.getLogger("brainmets.predict")


def output_paths(out_dir, pid: str, reference: str = REFERENCE_PREFERENCE[0]) -> dict[str, Path]:
    d, sub = Path(out_dir), f"sub-{pid}"
    return {
        "probability": d / f"{sub}_space-{reference}_desc-lesion_probseg.nii.gz",
        "mask": d / f"{sub}_space-{reference}_desc-lesion_mask.nii.gz",
        "lesions": d / f"{sub}_desc-lesions.tsv",
        "report": d / f"{sub}_desc-predict.json",
        "work": d / "work",
    }


def dicom_inputs(pid: str, images: dict, study, patterns: dict | None, work: Path) -> tuple[dict, dict]:
    """Convert DICOM inputs to NIfTI; returns the NIfTI paths and, per
    sequence, the DICOM files it came from."""
    from .cohort.ingest import read_dicom_folder
    from .dicom.mapping import map_series
    from .dicom.series import find_series

    folders = {seq: Path(p) for seq, p in images.items() if Path(p).is_dir()}
    if study:
        # Which sequences are needed depends on the model: checked once converted.
        chosen, table = map_series(pid, find_series(pid, study), patterns, required=())
        atomic_write_text(work.parent / f"sub-{pid}_desc-series.tsv", table.to_csv(sep="\t", index=False))
        for seq, series in chosen.items():
            folder = work / "dicom" / f"sub-{pid}_{seq}"
            folder.mkdir(parents=True, exist_ok=True)
            for i, f in enumerate(series.files):
                target = folder / f"sub-{pid}_{seq}_{i:05d}.dcm"
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


def canonical_inputs(pid: str, images: dict, work: Path) -> tuple[dict, dict]:
    """Check every input (header, voxels, content) and write it in canonical
    voxel order, so that the storage order of a file cannot change the
    result; returns the new paths and, per sequence, (file, shape, affine)."""
    converted, geometry = {}, {}
    for seq, path in images.items():
        data, affine = load_image(pid, path)
        check_content(pid, path, data)
        if np.issubdtype(data.dtype, np.floating) and data.dtype != np.float32:
            data = data.astype(np.float32)
        out = work / "inputs" / f"sub-{pid}_{seq}.nii.gz"
        save_nifti(out, data, affine)
        converted[seq], geometry[seq] = str(out), (path, data.shape, affine)
    return converted, geometry


def predict_patient_files(
    pid: str, images: dict, model_dir, out_dir, threshold: float | None = None, batch_size: int = 8,
    dicom_study=None, series_patterns: dict | None = None, deidentify: str | None = None, window_margin: int | None = 32,
    overwrite: bool = False,
) -> dict:
    """Predict one patient into ``out_dir``, through a staging folder (see the
    module's notes)."""
    if not PATIENT_ID.match(pid):
        raise InputError(pid, "--id", "a patient id is ASCII letters and digits only")
    final = Path(out_dir)
    check_output_folder(final, pid, overwrite)
    with stage_outputs(final, pid, overwrite) as stage:
        # The model folder first: a broken file is found before minutes of preprocessing.
        predictor = Predictor.from_folder(model_dir, threshold, batch_size, window_margin)
        return _predict(pid, images, predictor, stage, final, DicomOptions(dicom_study, series_patterns, deidentify))


@dataclass(frozen=True)
class DicomOptions:
    """DICOM around one prediction: the ``study`` folder whose series are
    assigned to sequences (by ``series_patterns``), and the pseudonym the
    DICOM outputs carry (``deidentify``)."""

    study: str | Path | None = None
    series_patterns: dict | None = None
    deidentify: str | None = None


def _predict(pid: str, images: dict, predictor: Predictor, out_dir: Path, final_dir: Path, dicom: DicomOptions) -> dict:
    """The prediction in the staging folder ``out_dir``, its report naming
    where the outputs will lie (``final_dir``)."""
    started = time.perf_counter()
    work = output_paths(out_dir, pid)["work"]
    images, dicom_sources = dicom_inputs(pid, images, dicom.study, dicom.series_patterns, work)
    originals = dict(images)
    images, geometry = canonical_inputs(pid, images, work)
    # Fields of view that miss each other stop here, before the network loads.
    _check_fields_of_view(pid, images, geometry, predictor)
    # Keras, TensorFlow and ANTs only once the inputs passed (their import alone takes about 1 GB).
    predictor.load()
    card = predictor.card
    warning = card.get("training_cohort", {}).get("warning")
    if warning:
        log.warning("%s: %s", predictor.name, warning)
    chosen = predictor.input_set(pid, images)
    images, missing, cut = chosen.images, list(chosen.missing), chosen.threshold
    grid = predictor.grid(pid, images)
    reference, bet_on = grid
    log.info("patient %s: threshold %.4f, the %s", pid, cut, chosen.chosen_as)
    log.info("patient %s: reference grid %s, brain extraction on %s%s", pid, reference, bet_on, f", without {', '.join(missing)}" if missing else "")
    out = output_paths(out_dir, pid, reference)
    normalized = _preprocess_naming_originals(predictor, pid, images, originals, grid, out["work"]).normalization
    network_grid = out["work"] / f"sub-{pid}_space-network_desc-lesion_probseg.nii.gz"
    preproc = {seq: str(normalized.images[seq]) for seq in SEQUENCES if seq in images}
    inference = predictor.probability(preproc, str(normalized.brain_mask), network_grid)
    instances = LesionInstances(**card.get("training_cohort", {}).get("lesion_instances", {}))
    min_peak = predictor.min_peak_probability
    if min_peak > 0:
        log.info("patient %s: a lesion is kept only where its probability reaches %.2f somewhere (the model's least peak)", pid, min_peak)
    mask, ref_affine, table = _write_maps(network_grid, originals[reference], cut, out, instances, min_peak)
    exported = {}
    if reference in dicom_sources:
        exported = _export_dicom(pid, mask, ref_affine, dicom_sources[reference], out_dir, final_dir, dicom.deidentify)
    report = {
        "patient_id": pid,
        "inputs": {seq: str(Path(p).resolve()) for seq, p in originals.items() if seq in images},
        "missing_sequences": missing,
        "unused_sequences": list(chosen.unused),
        "reference": reference,
        "reference_preference": list(predictor.reference_preference),
        "brain_extraction_on": bet_on,
        "outputs": {key: str((final_dir / out[key].name).resolve()) for key in ("probability", "mask", "lesions")},
        "model": str(predictor.folder.resolve()),
        "model_fingerprint": card["fingerprint"],
        "model_training_cohort": card.get("training_cohort"),
        "threshold": cut,
        "threshold_chosen_as": chosen.chosen_as,
        "lesion_min_peak_probability": min_peak,
        "lesions": int(len(table)),
        "lesion_volume_mm3": float(table.volume_mm3.sum()) if len(table) else 0.0,
        "inference_seconds": round(inference["seconds"], 2),
        "window_margin": predictor.window_margin,
        "test_time_mirroring": predictor.test_time_mirroring,
        "total_seconds": round(time.perf_counter() - started, 2),
        "dicom_outputs": exported,
        "deidentified": bool(dicom.deidentify),
    }
    atomic_write_text(out["report"], json.dumps(report, indent=2))
    return report


def _check_fields_of_view(pid: str, images: dict, geometry: dict, predictor: Predictor) -> None:
    """The images the model takes must overlap the first reference among
    them (with none, the refusal comes later, with its reason)."""
    used = {seq: geometry[seq] for seq in images if seq in predictor.card["sequences"]}
    first = next((seq for seq in predictor.reference_preference if seq in used), None)
    if first:
        check_overlap(pid, used, first)


def _preprocess_naming_originals(predictor: Predictor, pid: str, images: dict, originals: dict, grid: PatientGrid, work: Path) -> PreprocessingFiles:
    """The patient's preprocessing, its errors naming the user's files rather
    than their canonical copies."""
    try:
        return predictor.preprocess(pid, images, grid, work)
    except ValueError as exc:
        text = str(exc)
        for seq, staged in images.items():
            text = text.replace(str(staged), f"{originals[seq]} (canonical voxel order)")
        if text == str(exc):
            raise
        raise ValueError(text) from exc


def _export_dicom(pid: str, mask, affine, source, out_dir, final_dir, deidentify) -> dict:
    """DICOM SEG and RTSTRUCT of the mask, referencing the ``source``
    series; their paths where they will lie (``final_dir``)."""
    from .dicom.export import export_lesions

    exported = export_lesions(mask, affine, source, out_dir, f"sub-{pid}", pid, deidentify)
    moved = lambda p: p and str(final_dir / Path(p).name)  # noqa: E731
    return {"seg": moved(exported["seg"]), "rtstruct": moved(exported["rtstruct"]), "segments": exported["segments"]}


def _write_maps(network_grid, reference_file, cut: float, out: dict, instances: LesionInstances = LesionInstances(), min_peak: float = 0.0):
    """The probability map, its mask at ``cut`` (of the components reaching
    ``min_peak`` somewhere) and the lesion table (one row
    per lesion as the training cohort counted them, ``instances``), written
    on the patient's own reference grid (``reference_file``'s, in its own
    voxel order: the same world points as the canonical grid, so the same
    values); returns the mask, its affine and the table. The mask holds the
    lesions of the table: pieces too small to count as one are left out of
    both (they stay in the probability map)."""
    prob_net, net_affine = load_nifti(network_grid)
    ref_header = nib.load(str(reference_file))
    ref_shape, ref_affine = ref_header.shape[:3], ref_header.affine
    prob = np.clip(resample_to_grid(prob_net, net_affine, ref_shape, ref_affine, order=1), 0.0, 1.0)
    save_nifti(out["probability"], prob.astype(np.float32), ref_affine)
    labels, _ = instances.label(confident_components(prob >= cut, prob, min_peak, instances.connectivity), ref_affine)
    mask = labels > 0
    save_nifti(out["mask"], mask.astype(np.uint8), ref_affine)
    table = lesion_table(labels, ref_affine)
    atomic_write_text(out["lesions"], table.drop(columns=["voxels"]).to_csv(sep="\t", index=False, float_format="%.2f"))
    return mask, ref_affine, table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="brainmets-predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    notes = {"BRAVO": " (reference grid by default)", "T1gd": " (reference grid by default without a BRAVO)", "T1pre": " (brain extraction runs on it, else on the reference)"}
    for seq in SEQUENCES:
        parser.add_argument(f"--{seq.lower()}", metavar="NIFTI", help=f"{seq} image" + notes.get(seq, ""))
    parser.add_argument(
        "--model", help="trained model folder, e.g. results/demo/models/main (default: the shipped model, trained on synthetic patients only)"
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--id", default="new", help="patient id used in file names (letters and digits)")
    parser.add_argument("--threshold", type=float, help="probability threshold (default: the model's operating threshold)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--window-margin", type=int, default=32, metavar="VOXELS",
        help="compute only the brain's bounding box grown by this many voxels (default 32; -1: the whole frame)",
    )
    parser.add_argument("--dicom-study", metavar="FOLDER", help="DICOM study folder: series are assigned to sequences by description")
    parser.add_argument("--series-patterns", metavar="JSON", help='JSON object of SeriesDescription regular expressions, e.g. {"BRAVO": "bravo"}')
    parser.add_argument("--deidentify", metavar="SALT", help="pseudonymous patient name/id in the DICOM outputs (keep the salt secret)")
    parser.add_argument("--overwrite", action="store_true", help="empty an output folder that holds earlier outputs, then write this patient's")
    args = parser.parse_args(argv)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG, handlers=[console], force=True)
    for noisy in ("matplotlib", "PIL", "h5py", "tensorflow", "absl"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not PATIENT_ID.match(args.id):
        log.error("patient %r, file --id: a patient id is ASCII letters and digits only", args.id)
        return 1
    images = {seq: getattr(args, seq.lower()) for seq in SEQUENCES if getattr(args, seq.lower())}
    # The whole log (tracebacks included) goes to a file; the console gets one line per failure.
    log_file = Path(tempfile.gettempdir()) / f"brainmets-predict-sub-{args.id}-{os.getpid()}.log"
    file_handler = logging.FileHandler(log_file)
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(file_handler)
    try:
        try:
            patterns = json.loads(args.series_patterns) if args.series_patterns else None
        except json.JSONDecodeError as exc:
            raise InputError(args.id, "--series-patterns", f"not valid JSON ({exc.msg})") from None
        pseudonym_name = None
        if args.deidentify:
            from .dicom.export import pseudonym

            pseudonym_name = pseudonym(args.id, args.deidentify)
        model = args.model
        if model is None:
            model = shipped_model_folder()
            log.info("no --model: the shipped model %s (see its MODEL_CARD.md)", model)
        report = predict_patient_files(
            args.id, images, model, args.out, args.threshold, args.batch_size, args.dicom_study, patterns, pseudonym_name,
            None if args.window_margin < 0 else args.window_margin, args.overwrite,
        )
    except Exception as exc:  # noqa: BLE001 (any failure: one line on the console)
        log.debug("traceback", exc_info=True)
        log.error("%s (log: %s)", one_line(args.id, exc), log_file)
        return 1
    finally:
        file_handler.close()
        logging.getLogger().removeHandler(file_handler)
    kept = Path(args.out) / f"sub-{args.id}_desc-predict.log"
    shutil.move(log_file, kept)
    log.info("patient %s: %d lesions, %.0f mm^3, written to %s", args.id, report["lesions"], report["lesion_volume_mm3"], args.out)
    return 0


def one_line(pid: str, exc: BaseException) -> str:
    """A failure as one line naming the patient, the file and the problem."""
    if isinstance(exc, NamedError):
        text = str(exc) if exc.names_patient else f"patient '{pid}', {exc}"
    elif isinstance(exc, OSError) and exc.filename:
        text = f"patient '{pid}', file {exc.filename}: {exc.strerror or exc}"
    else:
        text = f"patient '{pid}': {type(exc).__name__}: {exc}"
    return " ".join(text.split())

if __name__ == "__main__":
    sys.exit(main())
