"""Geometry helpers shared by datasets, screens and builders."""

from __future__ import annotations

import math

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from simkit.errors import ConfigError


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


def replication_problem(atoms: Atoms, target_atoms: int) -> str | None:
    """Why ``atoms`` cannot be replicated to ``target_atoms`` atoms; None when it can."""
    if target_atoms > len(atoms) and not any(atoms.pbc):
        return f"a cell of {len(atoms)} atoms without periodic directions cannot be replicated to {target_atoms} atoms"
    return None


def check_replicable(structures: list[Atoms], sizes: list[int], key: str, file, *, frames: str | None = None) -> None:
    """Refuse, before any run, a cell a command would have to replicate to ``sizes`` (its config ``key``) but
    cannot, naming ``file`` (None: a built structure) and, for ``frames`` read with that ASE index, the frame."""
    for index, atoms in enumerate(structures):
        for size in sizes:
            problem = replication_problem(atoms, size)
            if not problem:
                continue
            where = "structure" if file is None else str(file)
            if file is not None and frames is not None:
                where += f": frame {index}" + ("" if frames == ":" else f" of index '{frames}'")
            raise ConfigError(f"{where}: {problem} ({key} = {size}); lower {key} or give a cell with "
                              "a Lattice (periodic directions)")
