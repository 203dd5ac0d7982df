"""Where a patient's files lie: ingested (``cohort/``), preprocessed
(``preproc/``, ``qc/``: the workflow's and ``brainmets-predict``'s ``work/``
folder alike) and as slice records (``records/``); and the figures' names.
The rules name their outputs from here. Pure path functions, importable
without the heavy libraries (ANTs, matplotlib, TensorFlow).

Preprocessing file names follow BIDS derivatives:

    preproc/sub-<id>/anat/sub-<id>_space-T1pre_desc-brain_mask.nii.gz
    preproc/sub-<id>/xfm/sub-<id>_from-<seq>_to-BRAVO_mode-image_xfm.mat
    preproc/sub-<id>/anat/sub-<id>_space-BRAVO_desc-preproc_<seq>.nii.gz
    preproc/sub-<id>/anat/sub-<id>_space-BRAVO_desc-brain_mask.nii.gz
    preproc/sub-<id>/anat/sub-<id>_space-BRAVO_desc-lesions_mask.nii.gz

``BRAVO`` and ``T1pre`` stand for a patient's reference and the image brain
extraction ran on: ``brainmets-predict`` passes the ones it chose (the
first of ``preprocessing.reference`` that the patient has, e.g.
the T1gd without a BRAVO; the reference itself without a T1pre), which then
take their place in these names (``res-native`` marks the brain-extraction
mask when it was drawn on the reference itself).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .sequences import REFERENCE_PREFERENCE, SEQUENCES


def ingested_files(cohort_dir, pid: str, sequences=SEQUENCES, labelled: bool = True) -> dict[str, Path]:
    """An ingested patient's files: its images of ``sequences``, its lesion
    mask (``labelled``), lesion table and description."""
    base, sub = Path(cohort_dir) / f"sub-{pid}", f"sub-{pid}"
    files = {seq: base / "anat" / f"{sub}_{seq}.nii.gz" for seq in sequences}
    if labelled:
        files["lesions"] = base / "anat" / f"{sub}_lesions.nii.gz"
    return {**files, "lesion_table": base / f"{sub}_lesions.tsv", "patient": base / f"{sub}_patient.json"}


def record_files(records_dir, pid: str) -> dict[str, Path]:
    """A patient's 2.5D slice examples (``shard``) and their index."""
    return {"shard": Path(records_dir) / f"sub-{pid}_slices.tfrecord.gz", "index": Path(records_dir) / f"sub-{pid}_slices.json"}


def moving_sequences(reference: str = REFERENCE_PREFERENCE[0]) -> tuple[str, ...]:
    """The sequences registered onto ``reference``."""
    return tuple(s for s in SEQUENCES if s != reference)


MOVING = moving_sequences()
# A file as the typed names below hold it: a Path from ``PreprocessingFiles.bids``,
# a string where a workflow script passes Snakemake's.
PathLike = str | os.PathLike
FIGURES = ("figure2", "figure3", "figure4", "figure5", "figure6", "training_curves")


@dataclass(frozen=True)
class BrainExtractionFiles:
    """What brain extraction writes: the mask, on the grid of the image it
    ran on; its report; its QC picture."""

    mask: PathLike
    report: PathLike
    qc: PathLike


@dataclass(frozen=True)
class CoregistrationFiles:
    """What the registration of one sequence onto the reference writes: the
    transform (ANTs), its report, its QC picture."""

    transform: PathLike
    report: PathLike
    qc: PathLike


@dataclass(frozen=True)
class NormalizationFiles:
    """What normalization writes: every sequence on the network's grid (by
    name), the mask the network sees, the report."""

    images: Mapping[str, PathLike]
    brain_mask: PathLike
    report: PathLike


@dataclass(frozen=True)
class RegistrationCheckFiles:
    """The workflow's registration check of a patient: its verdict (failed
    included, for the QC table) and the verdict let through, which the
    patient's later steps wait for (``brainmets-predict`` stops at once
    instead)."""

    verdict: PathLike
    accepted: PathLike


@dataclass(frozen=True)
class PreprocessingFiles:
    """Every preprocessing file of one patient on one grid, by step; the
    lesion mask on that grid. ``coregistration``: one per sequence moved
    onto the reference."""

    brain_extraction: BrainExtractionFiles
    coregistration: Mapping[str, CoregistrationFiles]
    registration: RegistrationCheckFiles
    normalization: NormalizationFiles
    lesions: PathLike

    @classmethod
    def bids(
        cls, preproc_dir, qc_dir, pid: str, reference: str = REFERENCE_PREFERENCE[0], brain_extraction_on: str = "T1pre",
        second_grid: bool = False,
    ) -> PreprocessingFiles:
        """The BIDS-derivatives names (module notes); ``pid`` may be the
        rules' wildcard, ``{pid}``. ``second_grid``: a patient's files on
        another reference beside those on its first (the workflow's
        alternative reference), whose reports and QC pictures then name
        their space."""
        sub, ref, bet = f"sub-{pid}", reference, brain_extraction_on
        anat, xfm, qc = Path(preproc_dir) / sub / "anat", Path(preproc_dir) / sub / "xfm", Path(qc_dir) / sub
        # Brain extraction on the reference itself: its native-grid mask must not
        # share a name with the one on the network's grid.
        native = "_res-native" if bet == ref else ""
        space = f"_space-{ref}" if second_grid else ""
        return cls(
            brain_extraction=BrainExtractionFiles(
                mask=anat / f"{sub}_space-{bet}{native}_desc-brain_mask.nii.gz",
                report=anat / f"{sub}_desc-brainextraction.json",
                qc=qc / f"{sub}_desc-brainmask_{bet}.png",
            ),
            coregistration={
                seq: CoregistrationFiles(
                    transform=xfm / f"{sub}_from-{seq}_to-{ref}_mode-image_xfm.mat",
                    report=xfm / f"{sub}_from-{seq}_to-{ref}_desc-metrics.json",
                    qc=qc / f"{sub}{space}_desc-coreg_{seq}.png",
                )
                for seq in moving_sequences(ref)
            },
            registration=RegistrationCheckFiles(
                verdict=xfm / f"{sub}{space}_desc-registration.json",
                accepted=xfm / f"{sub}{space}_desc-registrationaccepted.json",
            ),
            normalization=NormalizationFiles(
                images={seq: anat / f"{sub}_space-{ref}_desc-preproc_{seq}.nii.gz" for seq in SEQUENCES},
                brain_mask=anat / f"{sub}_space-{ref}_desc-brain_mask.nii.gz",
                report=Path(preproc_dir) / sub / f"{sub}{space}_desc-normalization.json",
            ),
            lesions=anat / f"{sub}_space-{ref}_desc-lesions_mask.nii.gz",
        )

    def transforms(self, sequences) -> dict[str, Path]:
        """The transforms of those of ``sequences`` moved onto the reference."""
        return {seq: self.coregistration[seq].transform for seq in sequences if seq in self.coregistration}
