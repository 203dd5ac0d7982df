"""Train the network of one split (rule train); resumes after a kill."""

from brainmets.network.devices import configure_gpus, limit_cpu_threads, make_deterministic
from brainmets.network.records import read_index
from brainmets.network.train import cohort_description, train_model
from brainmets.snakemake_io import logged

with logged(snakemake) as log:  # noqa: F821 (provided by Snakemake)
    training = snakemake.params.training
    if training["deterministic"]:  # before the backend starts (JAX reads it then)
        make_deterministic()
    configure_gpus(training["gpus"], training["allow_cpu_fallback"], "training")
    limit_cpu_threads(snakemake.threads)
    card = train_model(
        [read_index(f) for f in snakemake.input.train],
        [read_index(f) for f in snakemake.input.dev],
        {**snakemake.output, "checkpoints": snakemake.params.checkpoints, "tensorboard": snakemake.params.tensorboard},
        snakemake.params.network,
        snakemake.params.training,
        snakemake.params.preprocessing,
        snakemake.params.seed,
        snakemake.params.context,
        cohort_description(
            snakemake.params.cohort_source, snakemake.params.inputs_preprocessed, snakemake.params.lesion_instances, snakemake.params.phantom_anatomy
        ),
    )
    log.info("model %s: %d parameters, trained %d epochs", snakemake.wildcards.model, card["parameters"], card["epochs"])
