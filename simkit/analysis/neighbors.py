"""Neighbour search under periodic boundaries, for any (triclinic) cell.

Periodic images are made explicit: atoms near the cell faces are copied as
"ghosts" shifted by lattice vectors, far enough to cover a cutoff, and a
k-d tree (scipy's, in C++) searches the padded cloud without periodicity.
This is exact for any cell shape and any cutoff, including cutoffs larger
than half the cell (then an atom meets several images of the same neighbour,
as it physically does).

The cost of a search grows with the cube of the cutoff (and an angle
analysis's with its sixth power), so :func:`check_search_memory` estimates it
from the atom count, the cell and the cutoff before anything is allocated, and
refuses a frame whose search would pass a memory budget, saying what to change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from simkit.errors import InputDataError

# Peak bytes per padded point, per directed neighbour pair and per angle triplet, measured (peak resident
# memory) on perturbed FCC Cu: about 110 per pair (10,976 atoms, 8 and 12 Å) and 75-80 per triplet (864 atoms,
# 7 and 9 Å); rounded up.
_BYTES_PER_POINT = 200
_BYTES_PER_PAIR = 120
_BYTES_PER_TRIPLET = 90
# A cell of smaller volume is none: an extended XYZ without a Lattice, or vectors that are coplanar.
MIN_CELL_VOLUME_A3 = 1e-9
MISSING_VECTOR_A = 1e-9  # a cell vector shorter than this is absent (ASE's zero vector of a non-periodic axis)


@dataclass(frozen=True)
class SearchSize:
    """What one frame's neighbour search holds at its peak, estimated from a uniform density."""

    points: float  # atoms and their periodic images
    pairs: float  # directed pairs i -> j
    triplets: float  # angles j-i-k, j < k

    def MiB(self, *, with_triplets: bool, with_pairs: bool = True) -> float:
        total = self.points * _BYTES_PER_POINT + (self.pairs * _BYTES_PER_PAIR if with_pairs else 0.0)
        return (total + (self.triplets * _BYTES_PER_TRIPLET if with_triplets else 0.0)) / 2**20


def estimate_search(positions: np.ndarray, cell: np.ndarray, pbc, cutoff_A: float) -> SearchSize:
    """The size of a search to ``cutoff_A`` for atoms spread evenly over what they occupy: the cell along
    periodic axes, their own extent (at least the cutoff) along open ones. Arithmetic only."""
    positions = np.asarray(positions, dtype=float)
    cell = np.asarray(cell, dtype=float)
    natoms = len(positions)
    periodic = np.array([bool(p) for p in pbc])
    if natoms == 0:
        return SearchSize(0.0, 0.0, 0.0)
    cutoff = np.float64(cutoff_A)
    with np.errstate(over="ignore"):  # a cutoff of 1e300 Å is estimated as infinite, and refused
        if any(pbc):
            cell = search_cell(cell, pbc)
        if not has_volume(cell):  # no cell (a cluster): its bounding box
            extent = np.maximum(np.ptp(positions, axis=0), cutoff)
            volume, growth = np.prod(extent), np.float64(1.0)
        else:
            widths = face_distances(cell)
            fractional = np.linalg.solve(cell.T, positions.T).T
            span = np.where(periodic, 1.0, np.maximum(np.ptp(fractional, axis=0), cutoff / widths))
            volume = abs(np.linalg.det(cell)) * np.prod(span)
            growth = np.prod(np.where(periodic, 1.0 + 2.0 * cutoff / widths, 1.0))
        points = natoms * growth
        per_atom = min(points - 1.0, natoms / volume * 4.0 / 3.0 * np.pi * cutoff**3)
        triplets = natoms * per_atom * max(per_atom - 1.0, 0.0) / 2.0
    return SearchSize(float(points), float(natoms * per_atom), float(triplets))


def check_search_memory(positions: np.ndarray, cell: np.ndarray, pbc, cutoff_A: float, memory_MiB: float, *,
                        angles: bool, where: str, pairs: bool = True,
                        lower: str = "cutoff_A (and pair_cutoffs_A) to the bond length you mean") -> None:
    """Refuse (naming ``where``, e.g. the file and frame) a search estimated above ``memory_MiB``.

    ``pairs=False`` for a search that counts pairs without holding them (g(r)): then the padded cell of
    atoms and periodic images is what fills the memory. ``lower`` says which option to lower."""
    size = estimate_search(positions, cell, pbc, cutoff_A)
    needed = size.MiB(with_triplets=angles, with_pairs=pairs)
    if needed <= memory_MiB:
        return
    if pairs:
        held = f"{_amount(size.pairs)} neighbour pairs" + (f" and {_amount(size.triplets)} angle triplets"
                                                            if angles else "")
    else:
        held = f"{_amount(size.points)} atoms and periodic images"
    raise InputDataError(
        f"{where}: a neighbour search to {cutoff_A:g} Å among {len(positions)} atoms would hold about {held} "
        f"({_amount(needed)} MiB), above memory_MiB = {memory_MiB:g}; lower {lower}, "
        "or raise --memory-MiB if the machine has the memory"
    )


def _amount(value: float) -> str:
    return f"{value:.3g}" if np.isfinite(value) else "more than 1e308"


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


def has_volume(cell) -> bool:
    """Whether the three cell vectors span a volume (not all zeros, as in an extended XYZ without a Lattice)."""
    return abs(np.linalg.det(np.asarray(cell, dtype=float))) >= MIN_CELL_VOLUME_A3


def search_cell(cell, pbc) -> np.ndarray:
    """The cell with its non-periodic vectors made usable for fractional coordinates.

    Absent (zero) non-periodic vectors, or all of them when one is coplanar with the rest (a slab's open
    axis stored in the surface plane), are replaced: one by the unit normal of the other two, two by unit
    vectors normal to the remaining one, three by the identity. Only the periodic vectors shift images, so
    the replacements change no distance. Periodic vectors that are zero or linearly dependent are an
    :class:`InputDataError`.
    """
    cell = np.array(cell, dtype=float).reshape(3, 3)
    periodic = np.asarray(pbc, dtype=bool).reshape(3)
    absent = np.linalg.norm(cell, axis=1) < MISSING_VECTOR_A
    if np.any(absent & periodic):
        axes = ", ".join("abc"[k] for k in np.flatnonzero(absent & periodic))
        raise InputDataError(f"cell vector {axes} is zero along a periodic direction")
    filled = _fill_vectors(cell, absent)
    if not has_volume(filled):
        filled = _fill_vectors(cell, ~periodic)
    if not has_volume(filled):
        if periodic.any():
            raise InputDataError("the cell is singular: its periodic vectors are linearly dependent")
        return np.eye(3)  # nothing is periodic: any frame of fractional coordinates will do
    return filled


def _fill_vectors(cell: np.ndarray, replaced: np.ndarray) -> np.ndarray:
    cell = cell.copy()
    if replaced.sum() == 3:
        return np.eye(3)
    if replaced.sum() == 2:
        (kept,) = np.flatnonzero(~replaced)
        direction = cell[kept] / np.linalg.norm(cell[kept])
        helper = np.eye(3)[np.argmin(np.abs(direction))]
        first = np.cross(direction, helper)
        first /= np.linalg.norm(first)
        missing = np.flatnonzero(replaced)
        cell[missing[0]], cell[missing[1]] = first, np.cross(direction, first)
    elif replaced.sum() == 1:
        (k,) = np.flatnonzero(replaced)
        normal = np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])
        if np.linalg.norm(normal) > 0:
            cell[k] = normal / np.linalg.norm(normal)
    return cell


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
    if not any(pbc):  # no images to add, and the cell may be all zeros (an extended XYZ without a Lattice)
        return PaddedCell(np.array(positions, dtype=float), np.arange(natoms), natoms, float(cutoff_A))
    cell = search_cell(cell, pbc)
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
