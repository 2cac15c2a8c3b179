"""Catch bad data before any fit: every problem names its frame.

Checked per frame: force array shape, non-finite numbers (energy, forces,
virial, positions, cell), elements the model does not cover, atoms closer than
``min_distance_A`` (overlapping atoms), singular periodic cells. Across sets:
the same structure in training and validation data (it would make validation
errors meaningless).
"""

from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from simkit.datasets.frames import Dataset, Frame
from simkit.datasets.reader import raise_problems
from simkit.structures.geometry import closest_pair

# Positions are compared after rounding to this many decimals of a fractional
# coordinate (1e-6 of a cell vector), so re-written copies of a frame still match.
_FINGERPRINT_DECIMALS = 6


def frame_problems(frame: Frame, elements: Sequence[str], min_distance_A: float) -> list[str]:
    """Everything wrong with one frame, as messages starting with its source."""
    where = frame.source
    problems: list[str] = []
    n = frame.n_atoms
    if n == 0:
        return [f"{where}: has no atoms"]
    forces = np.asarray(frame.forces_eV_per_A)
    if forces.shape != (n, 3):
        problems.append(f"{where}: forces have shape {forces.shape}, expected ({n}, 3) for {n} atoms")
    elif not np.all(np.isfinite(forces)):
        bad = int(np.argwhere(~np.isfinite(forces))[0][0])
        problems.append(f"{where}: non-finite force on atom {bad}")
    if not np.isfinite(frame.energy_eV):
        problems.append(f"{where}: non-finite energy ({frame.energy_eV})")
    if frame.virial_eV is not None and not np.all(np.isfinite(frame.virial_eV)):
        problems.append(f"{where}: non-finite virial/stress")
    positions_ok = bool(np.all(np.isfinite(frame.atoms.positions)))
    cell = np.asarray(frame.atoms.cell)
    if not positions_ok:
        problems.append(f"{where}: non-finite atom positions")
    if not np.all(np.isfinite(cell)):
        problems.append(f"{where}: non-finite cell")
        positions_ok = False
    unknown = sorted(set(frame.symbols) - set(elements))
    if unknown:
        problems.append(
            f"{where}: element(s) {', '.join(unknown)} not in the model's elements {list(elements)}"
        )
    if positions_ok:
        problems += _geometry_problems(frame, min_distance_A)
    return problems


def _geometry_problems(frame: Frame, min_distance_A: float) -> list[str]:
    atoms = frame.atoms
    periodic = [axis for axis in range(3) if atoms.pbc[axis]]
    if periodic:
        cell = np.asarray(atoms.cell)
        volume = abs(np.linalg.det(cell)) if len(periodic) == 3 else None
        lengths = np.linalg.norm(cell[periodic], axis=1)
        if np.any(lengths < 1e-6) or (volume is not None and volume < 1e-6):
            return [f"{frame.source}: periodic cell is singular (cell vectors {cell.tolist()})"]
    pair = closest_pair(atoms, cutoff_A=min_distance_A)
    if pair is None:
        return []
    i, j, distance = pair
    if i == j:
        return [
            f"{frame.source}: atom {i} overlaps its own periodic image ({distance:.3g} Å < "
            f"min_distance_A {min_distance_A}); the cell is too small"
        ]
    return [
        f"{frame.source}: overlapping atoms {min(i, j)} and {max(i, j)} are {distance:.3g} Å apart "
        f"(< min_distance_A {min_distance_A})"
    ]


def check_frames(dataset: Dataset, elements: Sequence[str], min_distance_A: float) -> None:
    """Raise InputDataError listing every bad frame of ``dataset``."""
    problems: list[str] = []
    for frame in dataset:
        problems += frame_problems(frame, elements, min_distance_A)
    raise_problems(dataset.name, problems)


def fingerprint(frame: Frame) -> str:
    """A hash of species, cell and wrapped positions; equal for copies of one structure."""
    atoms = frame.atoms
    digest = hashlib.sha256()
    digest.update(np.asarray(atoms.numbers, dtype=np.int64).tobytes())
    digest.update(np.asarray(atoms.pbc, dtype=np.int8).tobytes())
    cell = np.round(np.asarray(atoms.cell, dtype=float), 6) + 0.0
    digest.update(cell.tobytes())
    if all(atoms.pbc):
        scaled = np.round(atoms.cell.scaled_positions(atoms.positions) % 1.0, _FINGERPRINT_DECIMALS) % 1.0
    else:
        scaled = np.round(atoms.positions, _FINGERPRINT_DECIMALS)
    digest.update((scaled + 0.0).tobytes())  # + 0.0 turns -0.0 into 0.0
    return digest.hexdigest()


def duplicate_pairs(frames: Sequence[Frame], others: Sequence[Frame] | None = None) -> list[tuple[Frame, Frame]]:
    """Pairs of identical structures: within ``frames``, or between ``frames`` and ``others``."""
    seen: dict[str, Frame] = {}
    pairs: list[tuple[Frame, Frame]] = []
    if others is None:
        for frame in frames:
            key = fingerprint(frame)
            if key in seen:
                pairs.append((seen[key], frame))
            else:
                seen[key] = frame
        return pairs
    for frame in frames:
        seen.setdefault(fingerprint(frame), frame)
    for frame in others:
        first = seen.get(fingerprint(frame))
        if first is not None:
            pairs.append((first, frame))
    return pairs


def check_no_duplicates(dataset: Dataset, validation: Dataset | None = None) -> None:
    """Refuse structures that appear twice (within a dataset that will be split, or across train/validation)."""
    if validation is None:
        pairs = duplicate_pairs(dataset.frames)
        problems = [f"{a.source} and {b.source} are the same structure (it could land in both training "
                    "and validation data)" for a, b in pairs]
    else:
        pairs = duplicate_pairs(dataset.frames, validation.frames)
        problems = [f"{b.source} (validation) duplicates {a.source} (training)" for a, b in pairs]
    raise_problems("duplicated frames", problems)
