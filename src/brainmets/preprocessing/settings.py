"""The ``preprocessing`` block of the configuration, which a model card
keeps whole, as one frozen object: built once (``from_config``, or
``from_card`` for a model's), passed whole to the preprocessing steps.

A workflow rule hands its job the part of the block the job depends on
(``brain_extraction``, ``registration``, or all of it) as plain values,
which the job's script builds into these objects: Snakemake reruns a job
when its plain-valued params change, and cannot compare objects.

Older model cards lack some keys; their defaults are here, and only here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

from ..sequences import REFERENCE_PREFERENCE, reference_order
from . import registration


@dataclass(frozen=True)
class BrainExtractionSettings:
    """``preprocessing.brain_extraction``."""

    engine: str
    fractional_threshold: Any  # one value, or one per engine ({fsl: .., python: ..})
    isotropic_mm: float
    iterations: int
    volume_limits_ml: tuple[float, float]
    # auto detects a skull-stripped input, true/false force it (older cards lack it).
    skull_stripped: str = "auto"

    @classmethod
    def from_config(cls, block: dict) -> BrainExtractionSettings:
        skull = str(block.get("skull_stripped", "auto")).lower()
        if skull not in ("auto", "true", "false"):
            raise ValueError(f"preprocessing.brain_extraction.skull_stripped must be auto, true or false, not {skull!r}")
        return cls(
            engine=block["engine"],
            fractional_threshold=block["fractional_threshold"],
            isotropic_mm=block["isotropic_mm"],
            iterations=block["iterations"],
            volume_limits_ml=tuple(block["volume_limits_ml"]),
            skull_stripped=skull,
        )


@dataclass(frozen=True)
class RegistrationSettings:
    """``preprocessing.registration``: the rigid stage's settings and the
    gate's (``registration.GATE_SETTINGS``: defaults for what is not given)."""

    rigid: registration.RigidSettings
    mi_loss_tolerance: float
    min_mi_drop_when_displaced: float
    max_residual_shift_mm: float
    max_residual_shift_voxels: float
    implausible: str

    @classmethod
    def from_config(cls, block: dict) -> RegistrationSettings:
        """``block`` as configured, or as an older model card kept it (its
        retired keys, ``registration.RETIRED_GATE_SETTINGS``, are ignored)."""
        gate = {**registration.GATE_SETTINGS, **{k: v for k, v in block.items() if k in registration.GATE_SETTINGS}}
        skip = (*registration.GATE_SETTINGS, *registration.RETIRED_GATE_SETTINGS)
        rigid = {k: v for k, v in block.items() if k not in skip}
        return cls(rigid=registration.RigidSettings(**rigid), **gate)


@dataclass(frozen=True)
class PreprocessingSettings:
    """``preprocessing``: what a patient's preprocessing repeats, in the
    workflow and in ``brainmets-predict`` (from the model card)."""

    brain_extraction: BrainExtractionSettings
    registration: RegistrationSettings
    inplane_size: int
    normalization: str
    # The reference grid: the first of these a patient has (older cards lack it).
    reference: tuple[str, ...] = REFERENCE_PREFERENCE
    # The network's mask: the brain mask grown by this much (older cards lack it).
    mask_margin_mm: float = 0.0
    # The block as given: what the model card keeps and training fingerprints.
    block: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_config(cls, block: dict) -> PreprocessingSettings:
        return cls(
            brain_extraction=BrainExtractionSettings.from_config(block["brain_extraction"]),
            registration=RegistrationSettings.from_config(block["registration"]),
            inplane_size=block["inplane_size"],
            normalization=block["normalization"],
            reference=reference_order(block.get("reference")),
            mask_margin_mm=block.get("mask_margin_mm", 0.0),
            block=copy.deepcopy(dict(block)),
        )

    @classmethod
    def from_card(cls, card: dict) -> PreprocessingSettings:
        """A model's settings (its card's ``preprocessing``) for a new
        patient. The registration check always stops on an implausible
        result: ``implausible: warn`` on a card was the training cohort's
        policy (synthetic heads whose sequences share one grid by
        construction), and a new patient's sequences have no such guarantee."""
        settings = cls.from_config(card["preprocessing"])
        return replace(settings, registration=replace(settings.registration, implausible="fail"))

    def to_dict(self) -> dict:
        """The block as given (for the model card)."""
        return copy.deepcopy(self.block)

    def on_reference(self, reference: str) -> PreprocessingSettings:
        """The same settings with ``reference`` as the only reference."""
        return replace(self, reference=(reference,))
