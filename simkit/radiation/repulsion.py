"""Is a potential physical at close approach? Dimer scans against the ZBL screened Coulomb repulsion.

A collision cascade brings pairs of atoms together with energies of the order
of the primary knock-on atom's (PKA's) energy, far above anything a potential
was fitted to. A potential fit for cascades must therefore stay repulsive all
the way in: its two-atom energy must rise monotonically as the distance shrinks
below the dimer minimum and must reach the PKA energy before the atoms meet.
Potentials that turn over (machine-learned ones without a ZBL overlay, most
Lennard-Jones-like forms cut off at short range) let atoms pass through each
other and produce nonsense cascades.

:func:`check_repulsive_core` scans the dimer energy with the potential itself
(one LAMMPS evaluation of many well-separated dimers) and compares it with the
universal ZBL screened Coulomb energy of Ziegler, Biersack and Littmark (1985),
:func:`zbl_energy_eV`.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from simkit.errors import ConfigError
from simkit.lammps.potentials.base import Potential
from simkit.lammps.session import LammpsSession
from simkit.units import COULOMB_EV_A

# ZBL universal screening function phi(x) = sum_i c_i exp(-d_i x), x = r / a_U
# (Ziegler, Biersack, Littmark, The Stopping and Range of Ions in Solids, Pergamon 1985).
ZBL_SCREENING = ((0.18175, 3.19980), (0.50986, 0.94229), (0.28022, 0.40290), (0.02817, 0.20162))
# a_U = 0.46850 Å / (Z1^0.23 + Z2^0.23) (0.8854 a_0 with the Bohr radius a_0 = 0.529 Å).
ZBL_SCREENING_LENGTH_A = 0.46850
ZBL_EXPONENT = 0.23

DEFAULT_CLOSEST_SCAN_A = 0.3
# Distances at which the potential's dimer energy is compared with ZBL's.
ZBL_COMPARISON_DISTANCES_A = (0.5, 0.75, 1.0, 1.5)
# A potential more than this many times the ZBL energy is a tabulated wall, not a screened Coulomb repulsion.
ZBL_STIFFNESS_LIMIT = 10.0
# Energy steps smaller than this (eV) count as flat, not as a turn-over (tabulated potentials).
_MONOTONIC_TOLERANCE_EV = 1e-6
# Dimers in one scan sit this far (Å) beyond the potential's cutoff from each other.
_DIMER_GAP_A = 2.0


def zbl_screening(x: np.ndarray | float) -> np.ndarray | float:
    """The ZBL universal screening function phi(x) of the reduced distance x = r / a_U."""
    x = np.asarray(x, dtype=float)
    return sum(c * np.exp(-d * x) for c, d in ZBL_SCREENING)


def zbl_screening_length_A(z1: int, z2: int) -> float:
    """The ZBL universal screening length a_U = 0.46850 / (Z1^0.23 + Z2^0.23) in Å."""
    return ZBL_SCREENING_LENGTH_A / (z1**ZBL_EXPONENT + z2**ZBL_EXPONENT)


def zbl_energy_eV(z1: int, z2: int, r_A: np.ndarray | float) -> np.ndarray | float:
    """Universal ZBL screened Coulomb energy (eV) of nuclei ``z1`` and ``z2`` at distance ``r_A`` (Å).

    E(r) = 14.399645 Z1 Z2 / r * phi(r / a_U) (Ziegler, Biersack, Littmark 1985),
    unswitched: LAMMPS's ``pair_style zbl`` gives the same below its inner cutoff.
    """
    if z1 < 1 or z2 < 1:
        raise ValueError(f"nuclear charges must be positive integers, got {z1}, {z2}")
    r = np.asarray(r_A, dtype=float)
    if np.any(r <= 0):
        raise ValueError("ZBL distances must be positive")
    energy = COULOMB_EV_A * z1 * z2 / r * zbl_screening(r / zbl_screening_length_A(z1, z2))
    return float(energy) if energy.ndim == 0 else energy


def zbl_distance_at_energy_A(z1: int, z2: int, energy_eV: float) -> float:
    """The distance (Å) at which the ZBL energy equals ``energy_eV`` (it falls monotonically with r)."""
    if energy_eV <= 0:
        raise ValueError(f"energy must be positive, got {energy_eV}")
    # Bisection on log r: ZBL is strictly decreasing from +inf at r -> 0 to 0 at r -> inf.
    low, high = 1e-6, 1e3
    for _ in range(200):
        middle = math.sqrt(low * high)
        if zbl_energy_eV(z1, z2, middle) > energy_eV:
            low = middle
        else:
            high = middle
    return math.sqrt(low * high)


def _charge(species: str) -> int:
    if species not in atomic_numbers:
        raise ConfigError(f"species {species!r} is not an element; the ZBL comparison needs a nuclear charge")
    return atomic_numbers[species]


def dimer_scan(
    potential: Potential,
    species_a: str,
    species_b: str,
    distances_A: Sequence[float] | np.ndarray,
    session_factory: Callable[[], LammpsSession] | None = None,
    *,
    comm=None,
) -> np.ndarray:
    """Two-atom energy (eV) of ``species_a``-``species_b`` at each distance, relative to the separated atoms.

    All dimers go into one non-periodic LAMMPS system, each farther than the
    potential's cutoff from every other, together with one isolated atom of each
    species; a dimer's energy is the sum of its two per-atom energies minus those
    of the isolated atoms (so embedding energies of EAM-like potentials at zero
    density cancel). One evaluation serves the whole scan. The session is
    ``session_factory()`` if given, else a :class:`LammpsSession` on ``comm``
    (every rank of it gets the energies).
    """
    distances = np.asarray(distances_A, dtype=float)
    if distances.ndim != 1 or len(distances) == 0 or not np.all(np.isfinite(distances)) or np.any(distances <= 0):
        raise ValueError("distances_A must be a non-empty list of positive, finite distances")
    if distances.max() > potential.cutoff_A + _DIMER_GAP_A:
        raise ValueError(f"distances up to {potential.cutoff_A + _DIMER_GAP_A:g} Å only "
                         f"(the potential's cutoff is {potential.cutoff_A:g} Å)")
    # Dimers (axis along x) and the two isolated reference atoms on the sites of a cubic grid:
    # a box of some extent in every direction (LAMMPS bins neighbours in 3-D).
    pitch = potential.cutoff_A + distances.max() + _DIMER_GAP_A
    side = math.ceil((len(distances) + 2) ** (1 / 3))
    sites = pitch * np.array([(i, j, k) for i in range(side) for j in range(side) for k in range(side)], dtype=float)
    symbols: list[str] = []
    positions: list[np.ndarray] = []
    for site, r in zip(sites, distances):
        symbols += [species_a, species_b]
        positions += [site, site + (r, 0.0, 0.0)]
    symbols += [species_a, species_b]
    positions += [sites[len(distances)], sites[len(distances) + 1]]
    atoms = Atoms(symbols, positions=positions, pbc=False)
    species = tuple(dict.fromkeys([species_a, species_b]))
    if potential.elements is not None and set(species) <= set(potential.elements):
        # The potential's own type order (coefficient lines may name type numbers); an uncovered
        # species is refused by set_potential, naming it.
        species = tuple(el for el in potential.elements if el in species)
    with session_factory() if session_factory is not None else LammpsSession(comm) as session:
        session.create_system(atoms, species, label=f"{species_a}-{species_b} dimer scan")
        session.set_potential(potential)
        per_atom = session.evaluate(per_atom=True).energies_eV
    per_atom = np.asarray(per_atom, dtype=float).reshape(-1)
    isolated = per_atom[-2] + per_atom[-1]
    return per_atom[:-2].reshape(-1, 2).sum(axis=1) - isolated


class CoreProblem(enum.Enum):
    """Why a potential fails the close-approach check."""

    TURNS_OVER = "turns_over"  # the energy falls again as the atoms come closer
    TOO_SOFT = "too_soft"  # monotonic, but stays below the PKA energy over the whole scan
    HARD_WALL = "hard_wall"  # far above ZBL: a tabulated wall or a cut-off, not physics


@dataclass(frozen=True)
class RepulsionCheck:
    """Outcome of :func:`check_repulsive_core` for one pair of species."""

    ok: bool
    species: tuple[str, str]
    pka_energy_eV: float
    # Where the dimer energy first reaches the PKA energy, coming in from the cutoff (None: never).
    closest_distance_A: float | None
    min_energy_eV: float  # lowest dimer energy along the part of the scan a PKA can reach
    min_distance_A: float  # where it is
    # (distance in Å, potential / ZBL energy) at ZBL_COMPARISON_DISTANCES_A within the scan
    zbl_ratios: tuple[tuple[float, float], ...]
    problem: CoreProblem | None
    reason: str


def check_repulsive_core(
    potential: Potential,
    species: str | tuple[str, str],
    pka_energy_eV: float,
    *,
    closest_A: float | None = None,
    points: int = 400,
    session_factory: Callable[[], LammpsSession] | None = None,
    comm=None,
) -> RepulsionCheck:
    """Check that ``potential`` is repulsive enough at short range for cascades of ``pka_energy_eV``.

    ``species`` is one element (a self-ion pair) or a pair of elements. The
    dimer energy is scanned on ``points`` distances from ``closest_A`` out to
    the potential's cutoff. ``closest_A`` defaults to 0.3 Å or, where that is
    not close enough (ZBL itself reaches ``pka_energy_eV`` only nearer in, as
    for Fe-Fe above about 5 keV), to 0.8 times the distance at which ZBL
    reaches the PKA energy.

    Coming in from the cutoff, the scan is read up to the distance where the
    dimer energy first reaches the PKA energy (a two-body collision of that
    energy gets no closer; whatever the potential does further in is not
    judged). Over that part the energy must rise monotonically as the distance
    shrinks below its minimum (else ``TURNS_OVER``; also when it is still
    falling at the closest distance scanned), it must reach the PKA energy
    (else ``TOO_SOFT``), and on the way it must not exceed the ZBL energy more
    than ``ZBL_STIFFNESS_LIMIT``-fold (else ``HARD_WALL``: a tabulated wall of
    the kind some EAM files put at short range, where the interpolating
    splines ring; it would also hide a turn-over between two scan points).

    Requiring the full PKA energy is conservative: a head-on collision of a
    moving atom with a resting one turns only the centre-of-mass share
    E * M2 / (M1 + M2) into potential energy (half of it for self-ions). The
    ratios to ZBL are reported in :attr:`RepulsionCheck.zbl_ratios`. ``session_factory`` and ``comm``
    are as for :func:`dimer_scan`.
    """
    pair = (species, species) if isinstance(species, str) else tuple(species)
    if len(pair) != 2:
        raise ConfigError(f"species must be one element or a pair of elements, got {species!r}")
    if not pka_energy_eV > 0:
        raise ConfigError(f"pka_energy_eV must be positive, got {pka_energy_eV}")
    z1, z2 = _charge(pair[0]), _charge(pair[1])
    if closest_A is None:
        closest_A = min(DEFAULT_CLOSEST_SCAN_A, 0.8 * zbl_distance_at_energy_A(z1, z2, pka_energy_eV))
    if not 0 < closest_A < potential.cutoff_A:
        raise ConfigError(f"closest_A must lie between 0 and the cutoff ({potential.cutoff_A:g} Å), got {closest_A}")
    if points < 10:
        raise ConfigError(f"points must be at least 10, got {points}")
    distances = np.linspace(closest_A, potential.cutoff_A, points)
    energies = dimer_scan(potential, pair[0], pair[1], distances, session_factory, comm=comm)
    zbl = zbl_energy_eV(z1, z2, distances)
    name = f"{pair[0]}-{pair[1]}"

    # Coming in from the cutoff, the first scan point at or above the PKA energy.
    above = np.flatnonzero(energies >= pka_energy_eV)
    wall = int(above[-1]) if len(above) else None
    closest = None if wall is None else _crossing(distances, energies, wall, pka_energy_eV)
    first = 0 if wall is None else wall + 1  # the reachable part is distances[first:]
    reach_r, reach_e = distances[first:], energies[first:]
    lowest = int(np.argmin(reach_e))

    problem: CoreProblem | None = None
    if lowest == 0 and wall is None:
        # Still falling at the closest distance: attractive all the way in from the nearest bump.
        rises = np.flatnonzero(reach_e[1:] < reach_e[:-1] - _MONOTONIC_TOLERANCE_EV)
        peak = int(rises[0]) if len(rises) else len(reach_e) - 1
        problem = CoreProblem.TURNS_OVER
        reason = (f"{name} dimer energy turns over at {reach_r[peak]:.3f} Å ({reach_e[peak]:.4g} eV) and falls "
                  f"to {reach_e[0]:.4g} eV at the closest distance scanned, {reach_r[0]:.3f} Å")
    else:
        # Inside the minimum, moving inwards the energy must not fall.
        falls = np.flatnonzero(reach_e[:lowest] < reach_e[1 : lowest + 1] - _MONOTONIC_TOLERANCE_EV)
        if len(falls):
            turn = int(falls[-1]) + 1
            problem = CoreProblem.TURNS_OVER
            reason = (f"{name} dimer energy turns over at {reach_r[turn]:.3f} Å (peak {reach_e[turn]:.4g} eV, "
                      f"below the PKA energy {pka_energy_eV:g} eV) and falls as the atoms approach")
        elif wall is None:
            problem = CoreProblem.TOO_SOFT
            reason = (f"{name} dimer energy rises only to {reach_e[0]:.4g} eV at {reach_r[0]:.3f} Å, "
                      f"below the PKA energy {pka_energy_eV:g} eV")
    if problem is None:
        # The reachable part and the first point beyond it, where the energy is repulsive.
        judged = slice(first if wall is None else wall, None)
        ratio = np.where(energies[judged] > 0, energies[judged] / zbl[judged], 0.0)
        stiffest = int(np.argmax(ratio))
        if ratio[stiffest] > ZBL_STIFFNESS_LIMIT:
            where = distances[judged][stiffest]
            problem = CoreProblem.HARD_WALL
            reason = (f"{name} dimer energy is {ratio[stiffest]:.3g} times the ZBL energy at {where:.3f} Å "
                      f"({energies[judged][stiffest]:.4g} eV): a tabulated wall, not a screened Coulomb repulsion")
        else:
            reason = (f"{name} dimer energy rises monotonically and reaches {pka_energy_eV:g} eV at {closest:.3f} Å "
                      f"(ZBL: {zbl_distance_at_energy_A(z1, z2, pka_energy_eV):.3f} Å)")
    ratios = tuple(
        (r, float(np.interp(r, distances, energies)) / zbl_energy_eV(z1, z2, r))
        for r in ZBL_COMPARISON_DISTANCES_A
        if distances[0] <= r <= distances[-1]
    )
    return RepulsionCheck(
        ok=problem is None,
        species=pair,
        pka_energy_eV=float(pka_energy_eV),
        closest_distance_A=closest,
        min_energy_eV=float(reach_e[lowest]),
        min_distance_A=float(reach_r[lowest]),
        zbl_ratios=ratios,
        problem=problem,
        reason=reason,
    )


def _crossing(distances: np.ndarray, energies: np.ndarray, inner: int, level: float) -> float:
    """Where ``energies`` reaches ``level`` between scan points ``inner`` (at or above it) and ``inner + 1``."""
    if inner == len(distances) - 1:
        return float(distances[inner])
    r0, r1 = distances[inner], distances[inner + 1]
    e0, e1 = energies[inner], energies[inner + 1]
    return float(r0 + (level - e0) * (r1 - r0) / (e1 - e0))
