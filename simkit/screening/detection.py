"""When has a replica failed? Failure modes, resolved limits and the per-sample check.

Everything here is plain arithmetic on :class:`~simkit.lammps.monitors.MonitorSample`
values, so it can be tested without LAMMPS and runs identically in every worker.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from simkit.errors import ConfigError
from simkit.lammps.monitors import MonitorSample
from simkit.screening.settings import SurvivalThresholds
from simkit.structures.geometry import min_pair_distance


class FailureMode(StrEnum):
    """How a survival replica failed; reports count replicas per mode."""

    LOST_ATOMS = "lost_atoms"
    NEIGHBOR_OVERFLOW = "neighbor_overflow"
    LAMMPS_ERROR = "lammps_error"
    NON_FINITE = "non_finite"
    CLOSE_PAIR = "close_pair"
    LARGE_FORCE = "large_force"
    TEMPERATURE_RUNAWAY = "temperature_runaway"
    COORDINATION = "coordination"
    DENSITY = "density"
    ENERGY_DRIFT = "energy_drift"
    WORKER_CRASH = "worker_crash"
    EXTRAPOLATION = "extrapolation"

FAILURE_MODES: dict[str, str] = {
    FailureMode.LOST_ATOMS: "LAMMPS lost atoms (they left the box between neighbour-list builds)",
    FailureMode.NEIGHBOR_OVERFLOW: "LAMMPS neighbour list overflowed (atoms piled onto each other)",
    FailureMode.LAMMPS_ERROR: "LAMMPS stopped with another error",
    FailureMode.NON_FINITE: "non-finite energy, temperature or force",
    FailureMode.CLOSE_PAIR: "a pair of atoms closer than r_min",
    FailureMode.LARGE_FORCE: "a force above max_force_eV_per_A",
    FailureMode.TEMPERATURE_RUNAWAY: "temperature above max_temperature_factor x the set point",
    FailureMode.COORDINATION: "mean coordination left coordination_ratio_range (collapse, clustering or dispersal)",
    FailureMode.DENSITY: "density left density_ratio_range (NPT)",
    FailureMode.ENERGY_DRIFT: "total energy drifted beyond nve_drift_eV_per_atom in the NVE segment",
    FailureMode.WORKER_CRASH: "the process running the replica died (segfault, out of memory, killed)",
    FailureMode.EXTRAPOLATION: "an atom's ACE extrapolation grade gamma rose above max_gamma (the potential left "
    "its training domain; the structure is kept)",
}

# Default coordination cutoff, in units of the median nearest-neighbour distance:
# between the first and second neighbour shells of common crystals and liquids.
COORDINATION_CUTOFF_PER_NN = 1.3
# Standard deviations of the instantaneous temperature that never count as a runaway.
TEMPERATURE_SIGMAS = 6.0


@dataclass(frozen=True)
class Failure:
    mode: str
    message: str


@dataclass(frozen=True)
class ResolvedLimits:
    """Thresholds turned into numbers for one screen (all distances in Å)."""

    max_force_eV_per_A: float
    r_min_A: float
    reference_min_distance_A: float
    max_temperature_factor: float
    nve_drift_eV_per_atom: float
    coordination_cutoff_A: float
    coordination_ratio_range: tuple[float, float]
    density_ratio_range: tuple[float, float] | None  # None: fixed volume
    max_gamma: float | None = None  # None: extrapolation is not graded


@dataclass(frozen=True)
class Baseline:
    """Values of one replica at step 0 that later samples are compared with."""

    natoms: int
    mean_coordination: float
    volume_A3: float


def median_nearest_neighbour_distance(atoms: Atoms, search_A: float = 6.0) -> float:
    """Median over atoms of the distance to each atom's nearest neighbour (Å)."""
    first, distances = neighbor_list("id", atoms, search_A, self_interaction=False)
    if not len(distances):
        return math.inf
    nearest = np.full(len(atoms), np.inf)
    np.minimum.at(nearest, first, distances)
    return float(np.median(nearest[np.isfinite(nearest)]))


def resolve_limits(
    thresholds: SurvivalThresholds,
    *,
    potential_cutoff_A: float,
    starting_cells: Sequence[Atoms],
    reference_structures: Sequence[Atoms] | None = None,
    npt: bool = False,
) -> ResolvedLimits:
    """Fix r_min and the coordination cutoff for a screen; refuse cells that already violate r_min."""
    if thresholds.reference_min_distance_A is not None:
        reference = thresholds.reference_min_distance_A
        source = "thresholds.reference_min_distance_A"
    else:
        structures = list(reference_structures) if reference_structures else list(starting_cells)
        source = "reference structures" if reference_structures else "starting cells"
        reference = min(min_pair_distance(a) for a in structures)
        if not math.isfinite(reference):
            raise ConfigError(
                f"no two atoms within 6 Å in the {source}: give thresholds.reference_min_distance_A"
            )
    r_min = thresholds.r_min_fraction * reference

    if thresholds.coordination_cutoff_A is not None:
        cutoff = thresholds.coordination_cutoff_A
        if cutoff > potential_cutoff_A:
            raise ConfigError(
                f"thresholds.coordination_cutoff_A = {cutoff} Å exceeds the potential's cutoff "
                f"({potential_cutoff_A:.3f} Å); LAMMPS counts neighbours only inside it"
            )
    else:
        nn = statistics.median(median_nearest_neighbour_distance(a) for a in starting_cells)
        if not math.isfinite(nn):
            raise ConfigError("starting cells have no neighbours within 6 Å: give thresholds.coordination_cutoff_A")
        cutoff = min(COORDINATION_CUTOFF_PER_NN * nn, potential_cutoff_A)

    for index, cell in enumerate(starting_cells):
        closest = min_pair_distance(cell)
        if closest < r_min:
            raise ConfigError(
                f"starting cell {index} has a pair {closest:.3f} Å apart, already below r_min = {r_min:.3f} Å "
                f"({thresholds.r_min_fraction} x {reference:.3f} Å from the {source}); lower "
                "thresholds.r_min_fraction or give thresholds.reference_min_distance_A"
            )
    return ResolvedLimits(
        max_force_eV_per_A=thresholds.max_force_eV_per_A,
        r_min_A=r_min,
        reference_min_distance_A=reference,
        max_temperature_factor=thresholds.max_temperature_factor,
        nve_drift_eV_per_atom=thresholds.nve_drift_eV_per_atom,
        coordination_cutoff_A=cutoff,
        coordination_ratio_range=tuple(thresholds.coordination_ratio_range),
        density_ratio_range=tuple(thresholds.density_ratio_range) if npt else None,
        max_gamma=thresholds.max_gamma,
    )


def temperature_ceiling_factor(max_temperature_factor: float, natoms: int) -> float:
    """The runaway limit as a factor of the set point, never inside normal fluctuations.

    In the canonical ensemble the instantaneous kinetic temperature of N atoms
    has a relative standard deviation of sqrt(2 / (3N)); a small cell can
    exceed 2x its set point by chance. The limit is therefore at least
    ``TEMPERATURE_SIGMAS`` such deviations above the set point.
    """
    return max(max_temperature_factor, 1.0 + TEMPERATURE_SIGMAS * math.sqrt(2.0 / (3.0 * max(natoms, 1))))


def check_sample(
    sample: MonitorSample,
    limits: ResolvedLimits,
    baseline: Baseline,
    *,
    setpoint_K: float,
    nve_reference_eV: float | None = None,
) -> Failure | None:
    """The first limit ``sample`` breaks, or None. ``nve_reference_eV``: E_total at the start of NVE."""
    if not sample.finite:
        return Failure(
            FailureMode.NON_FINITE,
            f"E_pot = {sample.potential_energy_eV}, T = {sample.temperature_K}, max |F| = {sample.max_force_eV_per_A}",
        )
    if sample.min_distance_A < limits.r_min_A:
        return Failure(FailureMode.CLOSE_PAIR, f"closest pair {sample.min_distance_A:.3f} Å < r_min {limits.r_min_A:.3f} Å")
    if sample.max_force_eV_per_A > limits.max_force_eV_per_A:
        return Failure(
            FailureMode.LARGE_FORCE, f"max |F| = {sample.max_force_eV_per_A:.3g} eV/Å > {limits.max_force_eV_per_A:.3g} eV/Å"
        )
    factor = temperature_ceiling_factor(limits.max_temperature_factor, baseline.natoms)
    ceiling = factor * setpoint_K
    if sample.temperature_K > ceiling:
        return Failure(
            FailureMode.TEMPERATURE_RUNAWAY, f"T = {sample.temperature_K:.0f} K > {ceiling:.0f} K "
            f"({factor:.3g} x set point {setpoint_K:.0f} K)"
        )
    if baseline.mean_coordination > 0:
        ratio = sample.mean_coordination / baseline.mean_coordination
        low, high = limits.coordination_ratio_range
        if not low <= ratio <= high:
            return Failure(
                FailureMode.COORDINATION, f"mean coordination {sample.mean_coordination:.2f} is {ratio:.2f} x its start "
                f"value {baseline.mean_coordination:.2f} (allowed {low}-{high}; cutoff {limits.coordination_cutoff_A:.2f} Å)"
            )
    if limits.density_ratio_range is not None:
        ratio = baseline.volume_A3 / sample.volume_A3
        low, high = limits.density_ratio_range
        if not low <= ratio <= high:
            return Failure(FailureMode.DENSITY, f"density is {ratio:.2f} x its start value (allowed {low}-{high})")
    if nve_reference_eV is not None:
        drift = abs(sample.total_energy_eV - nve_reference_eV) / baseline.natoms
        if drift > limits.nve_drift_eV_per_atom:
            return Failure(
                FailureMode.ENERGY_DRIFT, f"|E_total - E_total(NVE start)| / N = {drift:.4g} eV/atom > {limits.nve_drift_eV_per_atom:.4g}"
            )
    return None


def check_gamma(gamma: float, limits: ResolvedLimits) -> Failure | None:
    """An extrapolation failure when ``gamma`` (the largest of the cell) exceeds ``limits.max_gamma``."""
    if limits.max_gamma is None or not gamma > limits.max_gamma:
        return None
    return Failure(FailureMode.EXTRAPOLATION, f"extrapolation grade gamma = {gamma:.3g} > max_gamma {limits.max_gamma:g}")


def classify_lammps_error(message: str) -> str:
    """Failure mode for a LAMMPS error message."""
    text = message.lower()
    if "lost atoms" in text:
        return FailureMode.LOST_ATOMS
    if "neighbor list overflow" in text or "neigh_modify one" in text:
        return FailureMode.NEIGHBOR_OVERFLOW
    if "non-numeric" in text or "nan" in text.split() or "inf" in text.split():
        return FailureMode.NON_FINITE
    return FailureMode.LAMMPS_ERROR
