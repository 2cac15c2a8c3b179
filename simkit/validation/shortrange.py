"""Short range: the dimer curve of every species pair, and whether it has a hole.

Coming in from the cutoff, the two-atom energy may dip into a well (the
outermost minimum that stands out by more than ``PROMINENCE_EV``; a hole may
be deeper than the well, so the deepest point will not do), but inside the
well's minimum it must rise monotonically all the way to ``closest_A``
(0.5 Å by default): an energy that falls again as the atoms approach is a hole,
into which atoms of a hot liquid, a cascade or a compressed cell fall. The
check reports the outermost distance where the energy turns down (the hole's
rim) and how deep it goes; the curve itself is kept for the figure.
"""

from __future__ import annotations

import numpy as np
from ase.data import atomic_numbers
from scipy.signal import find_peaks

from simkit.lammps.potentials.base import Potential
from simkit.radiation.repulsion import dimer_scan, zbl_energy_eV

# Energy steps smaller than this (eV) count as flat (tabulated potentials step in plateaus).
FLAT_EV = 1e-6
# A minimum of the dimer curve must stand out by this much (eV) to count as a well.
PROMINENCE_EV = 0.05


def pairs(species: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(a, b) for i, a in enumerate(species) for b in species[i:]]


def well_index(energies_eV: np.ndarray) -> int:
    """Index of the dimer well: the outermost minimum standing out by ``PROMINENCE_EV`` (tail wiggles do
    not), else the lowest point. The outermost, not the deepest: a hole can be deeper than the well."""
    minima, _ = find_peaks(-np.asarray(energies_eV), prominence=PROMINENCE_EV)
    return int(minima.max()) if len(minima) else int(np.argmin(energies_eV))


def find_hole(distances_A: np.ndarray, energies_eV: np.ndarray) -> dict:
    """Hole analysis of one dimer curve (distances increasing)."""
    minimum = well_index(energies_eV)
    inner_r, inner_e = distances_A[: minimum + 1], energies_eV[: minimum + 1]
    # moving inwards (towards index 0) the energy must not fall: e[k] >= e[k + 1]
    falls = np.flatnonzero(inner_e[:-1] < inner_e[1:] - FLAT_EV)
    result = {"min_distance_A": float(distances_A[minimum]), "min_energy_eV": float(energies_eV[minimum]),
              "energy_at_closest_eV": float(energies_eV[0])}
    if minimum == 0:
        result.update(hole_A=float(distances_A[0]), hole_depth_eV=None,
                      reason=f"the energy still falls at the closest distance scanned, {distances_A[0]:.3f} Å")
    elif len(falls):
        rim = int(falls[-1]) + 1
        depth = float(inner_e[rim] - inner_e[: rim + 1].min())
        result.update(hole_A=float(inner_r[rim]), hole_depth_eV=depth,
                      reason=f"the energy turns down at {inner_r[rim]:.3f} Å ({inner_e[rim]:.4g} eV) and falls "
                             f"by {depth:.4g} eV further in")
    else:
        result.update(hole_A=None, hole_depth_eV=None,
                      reason=f"rises monotonically from the minimum at {distances_A[minimum]:.3f} Å "
                             f"to {energies_eV[0]:.4g} eV at {distances_A[0]:.3f} Å")
    return result


def dimer_checks(potential: Potential, species: tuple[str, ...], closest_A: float, points: int,
                 comm=None) -> tuple[dict, dict, list[str]]:
    """(quantities, curves, problems) for every species pair."""
    distances = np.linspace(closest_A, potential.cutoff_A, points)
    quantities, curves, problems = {}, {}, []
    for a, b in pairs(species):
        energies = dimer_scan(potential, a, b, distances, comm=comm)
        name = f"dimer_{a}-{b}"
        found = find_hole(distances, energies)
        quantities[f"{name}_min_distance_A"] = found["min_distance_A"]
        quantities[f"{name}_min_energy_eV"] = found["min_energy_eV"]
        quantities[f"{name}_energy_at_{closest_A:g}A_eV"] = found["energy_at_closest_eV"]
        quantities[f"{name}_hole_A"] = found["hole_A"]
        if a in atomic_numbers and b in atomic_numbers:
            zbl = zbl_energy_eV(atomic_numbers[a], atomic_numbers[b], closest_A)
            quantities[f"{name}_over_zbl_at_{closest_A:g}A"] = float(found["energy_at_closest_eV"] / zbl)
        curves[f"{a}-{b}"] = {"distance_A": distances.tolist(), "energy_eV": energies.tolist(),
                              "verdict": found["reason"]}
        if found["hole_A"] is not None:
            problems.append(f"{a}-{b} dimer: {found['reason']}")
    return quantities, curves, problems
