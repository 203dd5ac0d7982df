"""One row per patient of preprocessing quality (rule preprocessing_qc_table)."""

import sys

# Jobs in their own conda environment import the package from the source tree.
sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821

from brainmets.niio import atomic_write_text
from brainmets.preprocessing.pipeline import qc_table
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    lesion_masks = zip(snakemake.params.labelled, snakemake.input.lesions, snakemake.input.lesion_brain_masks)
    table = qc_table(snakemake.input.bet, snakemake.input.xfm, snakemake.input.normalize, lesion_masks)
    atomic_write_text(snakemake.output[0], table.to_csv(sep="\t", index=False, float_format="%.4f"))
    log.info("preprocessing QC of %d patients", len(table))
    if "lesion_voxels_outside_mask" in table:
        cut = table[table.lesion_voxels_outside_mask > 0]
        for row in cut.itertuples():
            log.warning("patient %s: %d of %d lesion voxels lie outside the network's mask", row.patient_id, row.lesion_voxels_outside_mask, row.lesion_voxels)
