"""On-the-fly crystallinity: ten Wolde-style solid bonds from Steinhardt q_lm, computed by LAMMPS.

For each atom i, ``compute orientorder/atom`` forms
q_lm(i) = (1/N_b(i)) sum_j Y_lm(r_ij) over its neighbours j (all within
``cutoff_A``, or the ``neighbours`` nearest of them), and with the
``components`` option keeps the complex vector q_lm(i), m = -l..l.
``compute coord/atom orientorder`` then counts, for every atom, the
neighbours j within the same cutoff whose normalised vectors satisfy
Re sum_m q_lm(i) q_lm(j)* / (|q_l(i)| |q_l(j)|) > ``bond_threshold``
(a "solid bond", ten Wolde, Ruiz-Montero and Frenkel, J. Chem. Phys. 104,
9932 (1996)). An atom is crystalline when it has at least ``min_solid_bonds`` solid
bonds. Everything runs inside LAMMPS, in parallel, and is reduced per region
with ``compute reduce/region``.

Calibration (Cu, Mishin EAM, q6, cutoff 3.05 Å, threshold 0.7): FCC crystal
has 12 solid bonds per atom at 300 K and >= 10 at 1000 K; the melt at
1000-2500 K has 0-4; 7 or 8 separates them. The same definition is
evaluated offline by :mod:`simkit.analysis.steinhardt`.
"""

from __future__ import annotations

from typing import Protocol

from simkit.lammps.regions import region_id
from simkit.lammps.session import LammpsSession

Q_COMPUTE = "simkit_qlm"
BONDS_COMPUTE = "simkit_solid_bonds"
CRYSTALLINE_VARIABLE = "simkit_crystalline"


class SolidBondCriterion(Protocol):
    """What the commands need; :class:`simkit.analysis.steinhardt.BondOrderCriterion` provides it,
    so the criterion evaluated here on the fly and offline on a trajectory is one object."""

    cutoff_A: float
    degree: int
    neighbours: int | None  # None: every neighbour within cutoff_A
    bond_threshold: float
    min_solid_bonds: int


def q_columns(criterion: SolidBondCriterion) -> int:
    """Columns of the orientorder/atom compute: q_l, then Re/Im of the 2l+1 components."""
    return 1 + 2 * (2 * criterion.degree + 1)


def define_crystallinity(session: LammpsSession, criterion: SolidBondCriterion) -> str:
    """Define the computes and the per-atom 0/1 variable; returns its reference (``v_...``).

    Computes are not saved in restart files: call again after reading one.
    """
    nnn = "NULL" if criterion.neighbours is None else str(int(criterion.neighbours))
    session.command(
        f"compute {Q_COMPUTE} all orientorder/atom degrees 1 {int(criterion.degree)} "
        f"nnn {nnn} cutoff {criterion.cutoff_A!r} components {int(criterion.degree)}"
    )
    session.command(
        f"compute {BONDS_COMPUTE} all coord/atom orientorder {Q_COMPUTE} {float(criterion.bond_threshold)!r}"
    )
    session.command(f'variable {CRYSTALLINE_VARIABLE} atom "c_{BONDS_COMPUTE} >= {int(criterion.min_solid_bonds)}"')
    return f"v_{CRYSTALLINE_VARIABLE}"


def fraction_compute(session: LammpsSession, compute_id: str, region: str | None = None) -> str:
    """A global compute: crystalline fraction of all atoms (optionally those inside ``region``).

    Returns its thermo keyword ``c_ID``. An empty region reports 0.
    """
    if region is None:
        session.command(f"compute {compute_id} all reduce ave v_{CRYSTALLINE_VARIABLE}")
    else:
        session.command(f"compute {compute_id} all reduce/region {region_id(region)} ave v_{CRYSTALLINE_VARIABLE}")
    return f"c_{compute_id}"
