"""Brain mask from the pre-contrast T1 (rule brain_extraction)."""

from brainmets.layout import BrainExtractionFiles
from brainmets.preprocessing.pipeline import brain_extraction_step
from brainmets.preprocessing.settings import BrainExtractionSettings
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    out = snakemake.output
    files = BrainExtractionFiles(mask=out.bet_mask, report=out.bet_report, qc=out.bet_qc)
    settings = BrainExtractionSettings.from_config(snakemake.params.settings)
    brain_extraction_step(snakemake.wildcards.pid, snakemake.input.image, files, settings, snakemake.params.preprocessed)
