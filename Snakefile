# Detection and segmentation of brain metastases on multisequence MRI:
# a reproduction of Grovik et al., JMRI 2020, as one Snakemake workflow.
from snakemake.utils import min_version

from brainmets.workflow import jobs_import_from

min_version("9.0")

# Every job's script imports the package from this source tree.
jobs_import_from(f"{workflow.basedir}/src")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/settings.smk"
include: "rules/phantom.smk"
include: "rules/common.smk"
include: "rules/cohort.smk"
include: "rules/preprocessing.smk"
include: "rules/splits.smk"
include: "rules/network.smk"
include: "rules/evaluation.smk"
include: "rules/provenance.smk"


rule all:
    default_target: True
    input:
        per_patient(rules.normalize.output[REF]),
        per_patient(rules.resample_lesions.output.lesions, LABELLED),
        rules.table1.output,
        rules.preprocessing_qc_table.output,
        rules.splits.output,
        rules.provenance.output,
        network_outputs,
        rules.make_tables.output,
        rules.make_figures.output,
        # A model that accepts missing sequences: the 2021 sequence ablation.
        rules.ablation.output if config["training"]["sequence_dropout"] > 0 else [],
