"""This run's settings in words, as the paper comparison lists them."""

from __future__ import annotations

# How the paper comparison names each cohort source.
COHORTS = {
    "phantom": "built-in synthetic phantom cohort",
    "sheet": "cohort sheet",
    "brainmetshare": "Stanford BrainMetShare (k-fold over labelled cases)",
    "brats": "BraTS-METS layout (k-fold over labelled cases)",
}

# How the paper comparison words training.lesion_draw.
LESION_DRAW_WORDS = {
    "slice": "a slice with a lesion, uniformly",
    "lesion": "a lesion, uniformly, then one of its slices",
}


def run_settings(config: dict, used) -> dict:
    """This run's values of the settings the paper comparison lists, from the
    workflow's configuration; ``used``: the network's input sequences."""
    training = config["training"]
    phantom = config["cohort"]["source"] == "phantom"
    return {
        "patients": config["phantom"]["n_patients"] if phantom else None,
        "smallest lesion diameter (mm)": (
            config["phantom"]["lesion_diameter_min_mm"] if phantom else None
        ),
        "in-plane matrix": config["preprocessing"]["inplane_size"],
        "network width": config["network"]["width"],
        "batch size": training["batch_size"],
        "batches per epoch": training["steps_per_epoch"] or "one pass over the training slices",
        "epochs": training["epochs"],
        "learning rate": training["learning_rate"],
        "learning-rate drop": (
            f"x{training['learning_rate_drop_factor']:g} for the last {training['learning_rate_drop_epochs']} epochs"
            if training["learning_rate_drop_epochs"]
            else "none"
        ),
        "final weights": final_weights_setting(training),
        "training patches": (
            f"{training['crop']}x{training['crop']}" if training["crop"] else "whole slices"
        ),
        "lesion draws": LESION_DRAW_WORDS[training.get("lesion_draw", "slice")],
        "operating point": config["evaluation"]["operating_point"],
        "development patients": (
            f"at least {config['split']['min_dev_patients']}"
            if config["split"]["min_dev_patients"] > 1
            else "train:dev 20:1"
        ),
        "brain-mask margin (mm)": config["preprocessing"]["mask_margin_mm"],
        "sequence dropout": sequence_dropout_setting(training),
        "network inputs": ", ".join(used),
    }


def final_weights_setting(training: dict) -> str:
    """Which weights the model keeps, in words (training.weight_averaging_epochs)."""
    count = min(training.get("weight_averaging_epochs", 0), training["epochs"])
    return f"the mean of the last {count} epochs'" if count > 1 else "the last epoch's"


def sequence_dropout_setting(training: dict) -> str:
    """Sequence dropout in words, as the paper comparison lists it."""
    if not training["sequence_dropout"]:
        return "off"
    most = training.get("sequence_dropout_max_missing")
    subsets = f"at most {most} sequences" if most else "any proper subset of the sequences"
    if training.get("sequence_dropout_sets"):
        subsets = "one of " + "; ".join("+".join(subset) for subset in training["sequence_dropout_sets"])
    warmup = training.get("sequence_dropout_warmup_epochs", 0)
    start = f", after {warmup} epochs on complete inputs" if warmup else ""
    fill = " (given as mid grey)" if training.get("sequence_dropout_fill", "zero") == "mid_grey" else ""
    return f"{training['sequence_dropout']:g} of the examples lose {subsets}{fill}{start}"
