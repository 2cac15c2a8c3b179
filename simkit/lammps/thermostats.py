"""Integrators and thermostats on groups: what moves, and what holds it at a temperature.

Each function issues the fixes for one physical choice and returns the fix IDs
it created, so the caller can remove exactly those. Temperatures ramp linearly
from ``start_K`` to ``stop_K`` over a run whose ``start``/``stop`` steps the
caller passes to ``run`` (so a ramp survives being split into chunks and being
resumed from a restart file).
"""

from __future__ import annotations

from typing import Literal

from simkit.lammps import dynamics
from simkit.lammps.session import LammpsSession
from simkit.lammps.words import lammps_number
from simkit.units import fs_to_ps

ThermostatKind = Literal["nose-hoover", "langevin"]
# fix langevin's Marsaglia generator accepts seeds 1..900,000,000 only.
_MARSAGLIA_MAX_SEED = 900_000_000


def marsaglia_seed(seed: int) -> int:
    """Map any non-negative integer onto the seeds fix langevin accepts."""
    return int(seed) % _MARSAGLIA_MAX_SEED + 1


def add_nve(session: LammpsSession, fix_id: str, group: str) -> list[str]:
    dynamics.add_nve(session, fix_id, group)
    return [fix_id]


def add_thermostat(
    session: LammpsSession,
    fix_id: str,
    group: str,
    kind: ThermostatKind,
    start_K: float,
    stop_K: float,
    damping_fs: float,
    seed: int,
) -> list[str]:
    """Integrate ``group`` at a temperature ramping from ``start_K`` to ``stop_K``.

    ``nose-hoover``: ``fix nvt`` (deterministic; its chain state is saved in
    restart files and restored when a fix with the same ID is defined again).
    ``langevin``: ``fix langevin`` (random and friction forces, their sum kept
    at zero so momentum is conserved) plus ``fix nve``; ``seed`` feeds its
    random numbers, whose state restart files do not keep.
    """
    if kind == "nose-hoover":
        dynamics.add_nvt(session, fix_id, start_K, stop_K, damping_fs, group=group)
        return [fix_id]
    if kind == "langevin":
        damping = lammps_number(fs_to_ps(damping_fs))
        session.command(
            f"fix {fix_id} {group} langevin {lammps_number(start_K)} {lammps_number(stop_K)} {damping} "
            f"{marsaglia_seed(seed)} zero yes"
        )
        dynamics.add_nve(session, f"{fix_id}_nve", group)
        return [fix_id, f"{fix_id}_nve"]
    raise ValueError(f"unknown thermostat {kind!r} (nose-hoover or langevin)")


def add_barostat(
    session: LammpsSession,
    fix_id: str,
    group: str,
    start_K: float,
    stop_K: float,
    damping_fs: float,
    pressure_bar: float,
    pressure_damping_fs: float,
    couple: str = "iso",
) -> list[str]:
    """Nose-Hoover NPT on ``group`` (the cell dilates every atom, frozen ones included)."""
    dynamics.add_npt(session, fix_id, start_K, stop_K, damping_fs, pressure_bar, pressure_damping_fs,
                     couple=couple, group=group)
    return [fix_id]


def remove_fixes(session: LammpsSession, fix_ids: list[str]) -> None:
    for fix_id in fix_ids:
        dynamics.remove_fix(session, fix_id)
