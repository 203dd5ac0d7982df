# The validated configuration and the run's folder, which every rule file uses.
from snakemake.utils import validate

validate(config, schema="../schemas/config.schema.yaml")

RUN = f"results/{config['run_name']}"
