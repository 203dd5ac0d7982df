"""One row per patient of preprocessing quality (rule preprocessing_qc_table)."""

from brainmets.niio import atomic_write_text
from brainmets.preprocessing.qc_table import qc_table
from brainmets.preprocessing.registration_gate import lets_through, read_verdict
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    inputs = snakemake.input
    # Lesion masks exist for the labelled patients the registration gate let through.
    through = {v["patient_id"] for v in map(read_verdict, inputs.verdicts) if lets_through(v)}
    labelled = [pid for pid in snakemake.params.labelled if pid in through]
    table = qc_table(inputs.bet, inputs.xfm, inputs.normalize, zip(labelled, inputs.lesions, inputs.lesion_brain_masks), inputs.verdicts, inputs.own_reference)
    atomic_write_text(snakemake.output[0], table.to_csv(sep="\t", index=False, float_format="%.4f"))
    log.info("preprocessing QC of %d patients", len(table))
    for row in table[table.status != "passed"].itertuples():
        log.warning("patient %s: %s, %s", row.patient_id, row.status, row.problem)
    if "lesion_voxels_outside_mask" in table:
        cut = table[table.lesion_voxels_outside_mask > 0]
        for row in cut.itertuples():
            log.warning("patient %s: %d of %d lesion voxels lie outside the network's mask", row.patient_id, row.lesion_voxels_outside_mask, row.lesion_voxels)
