"""The slices of one labelled patient as a TFRecord shard (rule tfrecords)."""

from brainmets.network.records import write_patient_records
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    pid = snakemake.wildcards.pid
    index = write_patient_records(
        pid,
        {seq: snakemake.input[seq] for seq in snakemake.params.sequences},
        snakemake.input.brain_mask,
        snakemake.input.lesions,
        dict(snakemake.output.items()),
        snakemake.params.normalization,
    )
    log.info(
        "patient %s: %d slices (%d with lesions), %d sequences, %.0f bytes per slice",
        pid, index["examples"], index["lesion_examples"], len(index["sequences"]), index["bytes_per_example"],
    )
