"""Geometry helpers shared by datasets, screens and builders."""

from __future__ import annotations

import math

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list


def min_pair_distance(atoms: Atoms, cutoff_A: float = 6.0) -> float:
    """Shortest interatomic distance (Å) under periodic boundaries; inf if none within ``cutoff_A``."""
    if len(atoms) < 2 and not any(atoms.pbc):
        return math.inf
    distances = neighbor_list("d", atoms, cutoff_A, self_interaction=False)
    return float(distances.min()) if len(distances) else math.inf


def closest_pair(atoms: Atoms, cutoff_A: float = 6.0) -> tuple[int, int, float] | None:
    """Indices and distance of the closest pair within ``cutoff_A`` (None if there is none)."""
    i, j, d = neighbor_list("ijd", atoms, cutoff_A, self_interaction=False)
    if not len(d):
        return None
    k = int(np.argmin(d))
    return int(i[k]), int(j[k]), float(d[k])


def replication_for(atoms: Atoms, target_atoms: int) -> tuple[int, int, int]:
    """Repeats along periodic cell vectors giving at least ``target_atoms`` in a near-cubic shape.

    Grows the repeat along the currently shortest replicated periodic length, so
    elongated cells become roughly isotropic supercells.
    """
    if target_atoms <= len(atoms):
        return (1, 1, 1)
    lengths = atoms.cell.lengths()
    repeat = [1, 1, 1]
    periodic = [axis for axis in range(3) if atoms.pbc[axis]]
    if not periodic:
        raise ValueError("cannot replicate a structure without periodic directions")
    while len(atoms) * math.prod(repeat) < target_atoms:
        axis = min(periodic, key=lambda a: repeat[a] * lengths[a])
        repeat[axis] += 1
    return tuple(repeat)
