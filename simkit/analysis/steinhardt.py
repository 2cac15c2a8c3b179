"""Steinhardt bond-orientational order and ten Wolde's solid-like bonds, in LAMMPS's terms.

Definitions (identical to LAMMPS ``compute orientorder/atom`` and ``compute
coord/atom orientorder``, so a criterion evaluated on the fly in LAMMPS and
one evaluated here from a trajectory agree atom by atom):

* neighbours of atom i: its ``neighbours`` (LAMMPS ``nnn``) nearest atoms
  within ``cutoff_A`` (LAMMPS ``cutoff``); with ``neighbours=None`` (``nnn
  NULL``) every atom within the cutoff. An atom with fewer than ``nnn``
  neighbours inside the cutoff gets q_l = 0 and all components 0.
* ``q_lm(i) = (1/n_i) Σ_j Y_l^m(r̂_ij)``,  ``q_l(i) = sqrt(4π/(2l+1) Σ_m |q_lm(i)|²)``.
* normalised components (``components l``): ``q̂_lm(i) = q_lm(i) / sqrt(Σ_m |q_lm(i)|²)``.
* bond i-j is solid-like when ``Re Σ_m q̂_lm(i) q̂_lm(j)* > bond_threshold``,
  counted over every j within ``cutoff_A`` (coord/atom's orientorder style
  uses the orientorder cutoff, not the nnn list); atom i is crystal-like when
  it has at least ``min_solid_bonds`` solid-like bonds.

The LAMMPS commands for a :class:`BondOrderCriterion` are given by
:meth:`BondOrderCriterion.lammps_commands`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simkit.analysis.harmonics import complex_harmonics
from simkit.analysis.neighbors import NeighbourList, nearest_neighbours, neighbour_list


@dataclass(frozen=True)
class BondOrderCriterion:
    """Crystal-like atoms by solid-like bonds (ten Wolde, Ruiz-Montero & Frenkel 1996).

    Defaults suit FCC metals: l = 6, the 12 nearest neighbours, a bond is
    solid-like above 0.7, an atom crystal-like with 7 or more such bonds.
    ``cutoff_A`` should lie between the first and second neighbour shells
    (FCC: between a/√2 and a, e.g. 1.2 * a/√2).
    """

    cutoff_A: float
    degree: int = 6
    neighbours: int | None = 12
    bond_threshold: float = 0.7
    min_solid_bonds: int = 7

    def __post_init__(self) -> None:
        if self.cutoff_A <= 0 or self.degree < 1 or (self.neighbours is not None and self.neighbours < 1):
            raise ValueError(f"invalid bond-order criterion {self}")

    def lammps_commands(self, compute_id: str = "simkit_q", group: str = "all") -> list[str]:
        """LAMMPS commands defining the same per-atom q_l and solid-bond count.

        ``c_<id>[1]`` is q_l; ``c_<id>_bonds`` the number of solid-like bonds;
        an atom is crystal-like when that count >= ``min_solid_bonds``.
        """
        nnn = "NULL" if self.neighbours is None else str(self.neighbours)
        return [
            f"compute {compute_id} {group} orientorder/atom degrees 1 {self.degree} nnn {nnn} "
            f"cutoff {self.cutoff_A!r} components {self.degree}",
            f"compute {compute_id}_bonds {group} coord/atom orientorder {compute_id} {self.bond_threshold!r}",
        ]


@dataclass(frozen=True)
class BondOrder:
    """Per-atom results of one frame."""

    q_l: np.ndarray  # (N,) Steinhardt q_l
    normalised_qlm: np.ndarray  # (N, 2l+1) complex, zero rows where q_l is undefined
    solid_bonds: np.ndarray  # (N,) int
    crystal_like: np.ndarray  # (N,) bool


def steinhardt_qlm(neighbours: NeighbourList, degree: int, natoms: int) -> np.ndarray:
    """q_lm per atom (N, 2l+1) averaged over each atom's neighbours (zero rows for none)."""
    harmonics = complex_harmonics(degree, neighbours.vectors)
    total = np.zeros((natoms, 2 * degree + 1), dtype=complex)
    np.add.at(total, neighbours.i, harmonics)
    counts = np.bincount(neighbours.i, minlength=natoms)
    with np.errstate(invalid="ignore", divide="ignore"):
        qlm = total / counts[:, None]
    qlm[counts == 0] = 0.0
    return qlm


def bond_order(positions: np.ndarray, cell: np.ndarray, pbc, criterion: BondOrderCriterion) -> BondOrder:
    """Evaluate ``criterion`` on one configuration (Å; cell rows are lattice vectors)."""
    natoms = len(positions)
    l = criterion.degree
    if criterion.neighbours is None:
        chosen = neighbour_list(positions, cell, pbc, criterion.cutoff_A)
        too_few = chosen.counts() == 0
        within = chosen
    else:
        chosen, too_few = nearest_neighbours(positions, cell, pbc, criterion.neighbours, criterion.cutoff_A)
        within = neighbour_list(positions, cell, pbc, criterion.cutoff_A)
    qlm = steinhardt_qlm(chosen, l, natoms)
    qlm[too_few] = 0.0
    norm = np.sqrt(np.sum(np.abs(qlm) ** 2, axis=1))
    q_l = np.sqrt(4.0 * np.pi / (2 * l + 1)) * norm
    unit = np.zeros_like(qlm)
    defined = norm > 0
    unit[defined] = qlm[defined] / norm[defined, None]
    dots = np.real(np.sum(unit[within.i] * np.conj(unit[within.j]), axis=1))
    solid = np.bincount(within.i[dots > criterion.bond_threshold], minlength=natoms)
    return BondOrder(q_l=q_l, normalised_qlm=unit, solid_bonds=solid, crystal_like=solid >= criterion.min_solid_bonds)
