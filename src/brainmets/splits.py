"""Patient splits: which patients train, tune and test the network.

A split is data, written once to ``records/splits.json`` and reused, never
a side effect of a seed at training time.

* ``paper``: the test set takes the same number of patients from each
  lesion-count subgroup (17 each of 156 in the paper, proportionally fewer
  in smaller cohorts); the rest is divided train:dev 20:1.
* ``kfold``: stratified k-fold cross-validation over labelled patients, for
  cohorts whose test labels are not public (BrainMetShare).

Either way ``models`` names each network to train with its train, dev and
test patients: one (``main``) for the paper's split, one per fold for
k-fold, whose held-out folds are pooled in the evaluation.
"""

from __future__ import annotations

import numpy as np

from .sequences import SUBGROUPS

PAPER_COHORT = 156
PAPER_TEST_PER_SUBGROUP = 17


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, 0x5911]))


def paper_split(subgroups: dict[str, str], seed: int, test_per_subgroup: int | None = None, dev_ratio: float = 1 / 21, min_dev: int = 1) -> dict:
    """The paper's split: an equal number of test patients per subgroup,
    the rest train:dev 20:1 (``dev_ratio`` is dev's share of the rest, and
    at least ``min_dev`` patients)."""
    labelled = sorted(pid for pid, g in subgroups.items() if g in SUBGROUPS)
    if test_per_subgroup is None:
        test_per_subgroup = max(1, round(PAPER_TEST_PER_SUBGROUP * len(labelled) / PAPER_COHORT))
    rng = _rng(seed)
    test = []
    for group in SUBGROUPS:
        members = [pid for pid in labelled if subgroups[pid] == group]
        if len(members) < test_per_subgroup:
            raise ValueError(
                f"subgroup {group} has {len(members)} patients, fewer than the {test_per_subgroup} the test set needs"
            )
        test += sorted(rng.choice(members, test_per_subgroup, replace=False).tolist())
    train, dev = _train_dev([pid for pid in labelled if pid not in set(test)], rng, dev_ratio, min_dev)
    return {
        "strategy": "paper",
        "seed": seed,
        "test_per_subgroup": test_per_subgroup,
        "train": train,
        "dev": dev,
        "test": sorted(test),
        "models": {"main": {"train": train, "dev": dev, "test": sorted(test)}},
    }


def _train_dev(rest: list[str], rng: np.random.Generator, dev_ratio: float, min_dev: int = 1) -> tuple[list[str], list[str]]:
    """Shuffle, then hold out ``dev_ratio`` (at least ``min_dev``, leaving
    one to train) for development."""
    rest = list(rest)
    rng.shuffle(rest)
    n_dev = min(max(min_dev, round(len(rest) * dev_ratio)), len(rest) - 1) if len(rest) > 1 else 0
    return sorted(rest[n_dev:]), sorted(rest[:n_dev])


def kfold_split(subgroups: dict[str, str], seed: int, k: int = 5, dev_ratio: float = 1 / 21, min_dev: int = 1) -> dict:
    """Stratified k-fold: each subgroup is dealt round-robin over the folds
    after shuffling, so every fold has the cohort's subgroup mix. Model
    ``foldN`` tests on fold N and trains on the others, less a dev share."""
    labelled = sorted(pid for pid, g in subgroups.items() if g in SUBGROUPS)
    if len(labelled) < k:
        raise ValueError(f"{len(labelled)} labelled patients cannot be split into {k} folds")
    rng = _rng(seed)
    folds: list[list[str]] = [[] for _ in range(k)]
    offset = 0
    for group in SUBGROUPS:
        members = [pid for pid in labelled if subgroups[pid] == group]
        rng.shuffle(members)
        for i, pid in enumerate(members):
            folds[(offset + i) % k].append(pid)
        offset += len(members)
    folds = [sorted(f) for f in folds]
    models = {}
    for i, fold in enumerate(folds):
        others = [pid for j, f in enumerate(folds) if j != i for pid in f]
        train, dev = _train_dev(sorted(others), rng, dev_ratio, min_dev)
        models[f"fold{i + 1}"] = {"train": train, "dev": dev, "test": fold}
    return {"strategy": "kfold", "seed": seed, "k": k, "folds": folds, "models": models}


def split_from_settings(subgroups: dict[str, str], seed: int, settings: dict, test_only=()) -> dict:
    """The split the configuration's ``split`` block asks for: the paper's
    (``strategy: paper``) or stratified k-fold. ``test_only``: patients that
    can only be tested (they lack an input): drawn from the others, the
    split then holds them as extra test patients."""
    test_only = sorted(test_only)
    drawn = {pid: g for pid, g in subgroups.items() if pid not in set(test_only)}
    if settings["strategy"] == "paper":
        split = paper_split(drawn, seed, settings.get("test_per_subgroup"), min_dev=settings["min_dev_patients"])
    else:
        if test_only:
            raise ValueError(
                f"patients {', '.join(test_only)} lack an input and can only be test patients, "
                "but split.strategy kfold trains on every patient: use strategy paper"
            )
        return kfold_split(drawn, seed, settings["k"], min_dev=settings["min_dev_patients"])
    if test_only:
        split["test"] = sorted(split["test"] + test_only)
        split["models"]["main"]["test"] = split["test"]
        split["test_only"] = test_only
    return split


def split_summary(split: dict) -> str:
    """One line on a split's sizes, for the job's log."""
    if split["strategy"] == "kfold":
        return f"split: {split['k']} folds of {[len(f) for f in split['folds']]} patients"
    return f"split: {len(split['train'])} train, {len(split['dev'])} dev, {len(split['test'])} test"


def patient_subgroups(patients: list[dict]) -> dict[str, str]:
    """Patient id -> lesion-count subgroup ("unlabelled" where it has none),
    from the patients' ingested records (``sub-<pid>_patient.json``)."""
    return {p["patient_id"]: p["subgroup"] or "unlabelled" for p in patients}
