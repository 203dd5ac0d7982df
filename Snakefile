# Detection and segmentation of brain metastases on multisequence MRI:
# a reproduction of Grovik et al., JMRI 2020, as one Snakemake workflow.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/phantom.smk"
include: "rules/cohort.smk"
include: "rules/preprocessing.smk"
include: "rules/splits.smk"
include: "rules/network.smk"
include: "rules/evaluation.smk"
include: "rules/provenance.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
        network_outputs,
