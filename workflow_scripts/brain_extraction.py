"""Brain mask from the pre-contrast T1 (rule brain_extraction)."""

from brainmets.preprocessing.pipeline import brain_extraction_step
from brainmets.preprocessing.settings import BrainExtractionSettings
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    pid = snakemake.wildcards.pid
    paths = {"bet_mask": snakemake.output.bet_mask, "bet_report": snakemake.output.bet_report, "bet_qc": snakemake.output.bet_qc}
    settings = BrainExtractionSettings.from_config(snakemake.params.settings)
    brain_extraction_step(pid, snakemake.input.image, paths, settings, snakemake.params.preprocessed)
