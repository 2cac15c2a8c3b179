"""Config schema for datasets: files, label keys, validation splits, weights.

Example (a section of a fit config)::

    data:
      train: data/train.extxyz            # one file or a list; extended XYZ read by ASE
      validation: {kind: holdout, fraction: 0.2}   # or {kind: kfold, folds: 5}
                                                   # or {kind: file, path: data/val.extxyz}
      keys: {energy: energy, forces: forces, stress: stress, virial: virial, config_type: config_type}
      min_distance_A: 0.5
    weights:
      energy: 1.0
      forces: 1.0
      virial: 0.0
      config_types:
        liquid: {energy: 0.5}             # unset values fall back to the global ones
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BeforeValidator, Field, field_validator

from simkit.config.schema import ExistingFile, Schema


def _as_list(value):
    return value if isinstance(value, list) else [value]


# One file or a list of files (read in order).
FileList = Annotated[list[ExistingFile], BeforeValidator(_as_list), Field(min_length=1)]


class LabelKeys(Schema):
    """Where labels live in each frame (ASE ``info``, per-atom arrays or calculator results)."""

    energy: str = "energy"
    forces: str = "forces"
    stress: str = Field(default="stress", description="ASE stress (eV/Å^3, positive = tensile)")
    virial: str = Field(default="virial", description="virial W = -stress * V (eV); wins over stress")
    config_type: str = "config_type"


class FileValidation(Schema):
    """Validate on an external file (same label keys as the training data)."""

    kind: Literal["file"]
    path: FileList


class KFoldValidation(Schema):
    """k-fold cross-validation, folds stratified by config_type and drawn with the run's seed."""

    kind: Literal["kfold"]
    folds: int = Field(default=5, ge=2)


class HoldoutValidation(Schema):
    """A random hold-out of ``fraction`` of each config_type's frames, drawn with the run's seed."""

    kind: Literal["holdout"]
    fraction: float = Field(default=0.2, gt=0, lt=1)


ValidationSpec = Annotated[
    Union[FileValidation, KFoldValidation, HoldoutValidation], Field(discriminator="kind")
]


class DataSpec(Schema):
    """Training data and how to validate on it."""

    train: FileList
    validation: ValidationSpec = Field(default_factory=lambda: HoldoutValidation(kind="holdout"))
    keys: LabelKeys = Field(default_factory=LabelKeys)
    format: str = Field(default="extxyz", description="ASE format name of the data files")
    min_distance_A: float = Field(
        default=0.5, gt=0, description="frames with two atoms closer than this are refused as overlapping"
    )


class TermWeights(Schema):
    """Weights of one config_type; unset values use the global weights."""

    energy: float | None = Field(default=None, ge=0)
    forces: float | None = Field(default=None, ge=0)
    virial: float | None = Field(default=None, ge=0)


class Weights(Schema):
    """Relative weights of energy, force and virial residuals, globally and per config_type.

    How a backend uses them: SNAP multiplies its least-squares rows by them;
    ACE passes energy and force weights to pacemaker as per-structure weights
    (pacemaker normalises each kind separately, so ``ace.kappa`` sets their
    balance) and does not fit virials.
    """

    energy: float = Field(default=1.0, ge=0)
    forces: float = Field(default=1.0, ge=0)
    virial: float = Field(default=0.0, ge=0)
    config_types: dict[str, TermWeights] = Field(default_factory=dict)

    @field_validator("config_types")
    @classmethod
    def _names(cls, value: dict[str, TermWeights]) -> dict[str, TermWeights]:
        for name in value:
            if not name.strip():
                raise ValueError("config_type names must not be empty")
        return value

    def for_config_type(self, config_type: str) -> tuple[float, float, float]:
        """(energy, forces, virial) weights of frames of ``config_type``."""
        own = self.config_types.get(config_type)
        if own is None:
            return self.energy, self.forces, self.virial
        return (
            self.energy if own.energy is None else own.energy,
            self.forces if own.forces is None else own.forces,
            self.virial if own.virial is None else own.virial,
        )
