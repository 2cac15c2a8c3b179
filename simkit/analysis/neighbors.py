"""Neighbour search under periodic boundaries, for any (triclinic) cell.

Periodic images are made explicit: atoms near the cell faces are copied as
"ghosts" shifted by lattice vectors, far enough to cover a cutoff, and a
k-d tree (scipy's, in C++) searches the padded cloud without periodicity.
This is exact for any cell shape and any cutoff, including cutoffs larger
than half the cell (then an atom meets several images of the same neighbour,
as it physically does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from simkit.errors import InputDataError


@dataclass(frozen=True)
class PaddedCell:
    """Atoms wrapped into the cell plus ghost images within ``cutoff_A`` of it.

    ``points[:natoms]`` are the wrapped atoms themselves; ``owner[k]`` is the
    atom a point is an image of.
    """

    points: np.ndarray  # (M, 3) Å
    owner: np.ndarray  # (M,) index into the original atoms
    natoms: int
    cutoff_A: float

    @property
    def atoms(self) -> np.ndarray:
        return self.points[: self.natoms]


def wrap_into_cell(positions: np.ndarray, cell: np.ndarray, pbc) -> np.ndarray:
    """Positions moved into [0, 1) fractional coordinates along periodic axes."""
    fractional = np.linalg.solve(cell.T, np.asarray(positions, dtype=float).T).T
    periodic = np.asarray(pbc, dtype=bool)
    fractional[:, periodic] -= np.floor(fractional[:, periodic])
    return fractional @ cell


def face_distances(cell: np.ndarray) -> np.ndarray:
    """Distances between opposite faces of the cell (Å), one per cell vector."""
    volume = abs(np.linalg.det(cell))
    a, b, c = cell
    return volume / np.array([np.linalg.norm(np.cross(b, c)), np.linalg.norm(np.cross(c, a)),
                              np.linalg.norm(np.cross(a, b))])


def pad_cell(positions: np.ndarray, cell: np.ndarray, pbc, cutoff_A: float) -> PaddedCell:
    """Wrap atoms and add every periodic image lying within ``cutoff_A`` of the cell."""
    cell = np.asarray(cell, dtype=float)
    natoms = len(positions)
    if abs(np.linalg.det(cell)) < 1e-9 and any(pbc):
        raise InputDataError("cannot search neighbours: the cell is singular")
    wrapped = wrap_into_cell(positions, cell, pbc)
    fractional = np.linalg.solve(cell.T, wrapped.T).T
    margin = cutoff_A / face_distances(cell)  # padding in fractional units per axis
    reach = [int(np.ceil(m)) if p else 0 for m, p in zip(margin, pbc)]
    periodic = np.array([bool(p) for p in pbc])
    points, owners = [wrapped], [np.arange(natoms)]
    for i in range(-reach[0], reach[0] + 1):
        for j in range(-reach[1], reach[1] + 1):
            for k in range(-reach[2], reach[2] + 1):
                if i == j == k == 0:
                    continue
                shifted = fractional + (i, j, k)
                # Only periodic axes bound the padding: along an open axis an atom may lie outside the
                # cell's span (above a slab) and its images across the periodic faces still count.
                near = (shifted > -margin) & (shifted < 1.0 + margin)
                inside = np.all(near[:, periodic], axis=1)
                if inside.any():
                    points.append(shifted[inside] @ cell)
                    owners.append(np.nonzero(inside)[0])
    return PaddedCell(np.concatenate(points), np.concatenate(owners), natoms, float(cutoff_A))


@dataclass(frozen=True)
class NeighbourList:
    """Directed pairs i -> j (both directions present), with j's image vector from i."""

    i: np.ndarray  # (P,) centre atom
    j: np.ndarray  # (P,) neighbour atom (original index)
    vectors: np.ndarray  # (P, 3) r_j(image) - r_i, Å
    distances: np.ndarray  # (P,) Å
    natoms: int

    def counts(self) -> np.ndarray:
        """Neighbours per atom."""
        return np.bincount(self.i, minlength=self.natoms)


class NeighbourSearch:
    """One frame's padded cloud and its k-d tree, queried for all atoms or a block of centres at a time.

    Querying in blocks bounds the memory of the pair arrays for large frames
    (a 500,000-atom frame has ~10^7 pairs within 5 Å); the tree is built once.
    """

    def __init__(self, positions: np.ndarray, cell: np.ndarray, pbc, cutoff_A: float):
        self.padded = pad_cell(positions, cell, pbc, cutoff_A)
        self.cloud = cKDTree(self.padded.points)
        self.cutoff_A = float(cutoff_A)
        self.natoms = len(positions)

    def pairs(self, centres: np.ndarray | None = None) -> NeighbourList:
        """Pairs i -> j closer than the cutoff for ``centres`` (atom indices; default all), sorted by
        centre then distance; ``i`` holds the original atom indices."""
        padded = self.padded
        chosen = np.arange(self.natoms) if centres is None else np.asarray(centres, dtype=np.int64)
        tree = cKDTree(padded.atoms[chosen])
        pairs = tree.sparse_distance_matrix(self.cloud, self.cutoff_A, output_type="ndarray")
        i, k, d = chosen[pairs["i"].astype(np.int64)], pairs["j"].astype(np.int64), pairs["v"]
        keep = k != i  # the atom itself (ghosts are never at index < natoms)
        i, k, d = i[keep], k[keep], d[keep]
        order = np.lexsort((d, i))
        i, k, d = i[order], k[order], d[order]
        vectors = padded.points[k] - padded.atoms[i]
        return NeighbourList(i, padded.owner[k], vectors, d, self.natoms)


def neighbour_list(positions: np.ndarray, cell: np.ndarray, pbc, cutoff_A: float) -> NeighbourList:
    """All pairs closer than ``cutoff_A``, sorted by centre atom then distance."""
    return NeighbourSearch(positions, cell, pbc, cutoff_A).pairs()


def nearest_neighbours(positions: np.ndarray, cell: np.ndarray, pbc, count: int,
                       cutoff_A: float) -> tuple[NeighbourList, np.ndarray]:
    """The ``count`` nearest neighbours of every atom, searched within ``cutoff_A``.

    Returns the list (exactly ``count`` per atom where available) and a mask of
    atoms that had fewer than ``count`` neighbours within the cutoff.
    """
    full = neighbour_list(positions, cell, pbc, cutoff_A)
    counts = full.counts()
    # Rows are sorted by distance within each centre: keep the first `count` of each.
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(full.i)) - starts[full.i]
    keep = rank < count
    chosen = NeighbourList(full.i[keep], full.j[keep], full.vectors[keep], full.distances[keep], full.natoms)
    return chosen, counts < count
