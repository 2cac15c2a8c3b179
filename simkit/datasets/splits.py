"""Training/validation splits: an external file, k folds, or a stratified hold-out.

Random splits are stratified by config_type (each type is shuffled and divided
on its own) so that every kind of structure is validated, and are drawn from a
``numpy.random.Generator`` seeded by the run's seed: the same seed gives the
same split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simkit.datasets.checks import check_frames, check_no_duplicates
from simkit.datasets.frames import Dataset
from simkit.datasets.reader import read_dataset
from simkit.datasets.spec import DataSpec, FileValidation, HoldoutValidation, KFoldValidation
from simkit.errors import InputDataError


@dataclass
class Split:
    """One training set and the validation set its model is scored on."""

    name: str  # "holdout", "file", "fold-1", ...
    train: Dataset
    validation: Dataset


@dataclass
class PreparedData:
    """Checked data and its splits; picklable, so candidates can share one read."""

    full: Dataset  # everything that is fitted when a final model is needed (k-fold)
    splits: list[Split]
    kind: str  # validation kind: file, holdout or kfold

    @property
    def needs_final_fit(self) -> bool:
        """k-fold scores come from k models; the deployed model is refitted on all data."""
        return self.kind == "kfold"


def _indices_by_type(dataset: Dataset) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for index, frame in enumerate(dataset):
        groups.setdefault(frame.config_type, []).append(index)
    return dict(sorted(groups.items()))


def holdout_split(dataset: Dataset, fraction: float, rng: np.random.Generator) -> Split:
    """Hold out ``round(fraction * n)`` frames of each config_type (at least one when it has two or more)."""
    validation: list[int] = []
    for indices in _indices_by_type(dataset).values():
        count = int(round(fraction * len(indices)))
        if len(indices) >= 2:
            count = min(max(count, 1), len(indices) - 1)
        else:
            count = 0
        validation += [indices[k] for k in rng.permutation(len(indices))[:count]]
    if not validation:
        raise InputDataError(
            f"{dataset.name}: a hold-out of {fraction} leaves no validation frames "
            f"({len(dataset)} frames; every config_type needs at least 2)"
        )
    chosen = set(validation)
    train = [i for i in range(len(dataset)) if i not in chosen]
    return Split("holdout", dataset.subset(train, "training"), dataset.subset(sorted(chosen), "validation"))


def kfold_splits(dataset: Dataset, folds: int, rng: np.random.Generator) -> list[Split]:
    """``folds`` splits; within each config_type, shuffled frames are dealt to folds in turn."""
    if len(dataset) < folds:
        raise InputDataError(f"{dataset.name}: {len(dataset)} frames cannot make {folds} folds")
    assignment = np.empty(len(dataset), dtype=int)
    offset = 0
    for indices in _indices_by_type(dataset).values():
        order = rng.permutation(len(indices))
        for rank, k in enumerate(order):
            assignment[indices[k]] = (offset + rank) % folds
        offset += len(indices)  # keeps small types from all landing in fold 1
    splits = []
    for fold in range(folds):
        val = np.flatnonzero(assignment == fold).tolist()
        train = np.flatnonzero(assignment != fold).tolist()
        splits.append(Split(f"fold-{fold + 1}", dataset.subset(train, "training"), dataset.subset(val, "validation")))
    return splits


def prepare_data(spec: DataSpec, elements: list[str] | tuple[str, ...], seed: int) -> PreparedData:
    """Read, check and split the data of a fit config; raises before any fit on bad input."""
    train = read_dataset(spec.train, spec.keys, format=spec.format, name=_name(spec.train))
    check_frames(train, elements, spec.min_distance_A)
    rng = np.random.default_rng(seed)
    validation_spec = spec.validation
    if isinstance(validation_spec, FileValidation):
        paths = validation_spec.path
        validation = read_dataset(paths, spec.keys, format=spec.format, name=_name(paths))
        check_frames(validation, elements, spec.min_distance_A)
        check_no_duplicates(train, validation)
        return PreparedData(train, [Split("file", train, validation)], "file")
    check_no_duplicates(train)
    if isinstance(validation_spec, HoldoutValidation):
        return PreparedData(train, [holdout_split(train, validation_spec.fraction, rng)], "holdout")
    if isinstance(validation_spec, KFoldValidation):
        return PreparedData(train, kfold_splits(train, validation_spec.folds, rng), "kfold")
    raise TypeError(f"unhandled validation spec {validation_spec!r}")  # pragma: no cover


def _name(paths: list[Path]) -> str:
    return ", ".join(Path(p).name for p in paths)
