"""Collision MD on a :class:`~simkit.lammps.session.LammpsSession`: a thermostatted border, a primary
knock-on atom (PKA), an adaptive timestep and electronic stopping.

These are the LAMMPS operations that threshold-displacement scans and
collision cascades share; the workflows in :mod:`simkit.radiation` say when to
use them. Units are in the argument names and converted here.

- The border is the atoms within ``border_A`` of a periodic face of the box,
  taken once when it is defined (a static group: a crystal's atoms stay put,
  and a group fixed at the start keeps the thermostatted mass constant).
- ``langevin`` friction and noise on the border (``fix langevin``), or
  ``berendsen`` velocity rescaling of the border's temperature
  (``fix temp/berendsen``), which unlike Langevin's per-atom friction also
  damps a strong shock arriving at the boundary as a collective motion.
- The adaptive timestep (``fix dt/reset``) keeps the fastest atom's step below
  ``max_displacement_A``, with the step capped at ``max_timestep_fs``.
- Electronic stopping (``fix electron/stopping``) is a friction on every atom
  whose kinetic energy is above ``min_energy_eV``, read from a table of
  stopping power against energy; its global scalar is the energy removed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Literal

import numpy as np

from simkit.errors import InputDataError
from simkit.lammps.regions import count_atoms
from simkit.lammps.session import LammpsSession
from simkit.lammps.thermostats import marsaglia_seed
from simkit.lammps.words import lammps_number, lammps_word
from simkit.units import fs_to_ps, speed_A_per_ps

BORDER_GROUP = "simkit_border"
_CORE_REGION = "simkit_core"
_CORE_GROUP = "simkit_core"
_BORDER_FIX = "simkit_border_tstat"
_TIMESTEP_FIX = "simkit_dt_reset"
STOPPING_FIX = "simkit_stopping"
TTM_FIX = "simkit_ttm"

BorderThermostat = Literal["langevin", "berendsen"]


def define_border(session: LammpsSession, border_A: float) -> int:
    """Group the atoms within ``border_A`` of a periodic face of the (orthogonal) box; returns their count."""
    if session.box.triclinic:
        raise InputDataError("a thermostatted border needs an orthogonal cell; this one is triclinic")
    lo, hi = session.bounds_A()
    lengths = hi - lo
    if np.any(2 * border_A >= lengths[list(session.box.pbc)]):
        raise InputDataError(
            f"border_A = {border_A:g} leaves no inner region in a {' x '.join(f'{x:.3g}' for x in lengths)} Å cell"
        )
    bounds = []
    for axis in range(3):
        if session.box.pbc[axis]:
            bounds += [lammps_number(lo[axis] + border_A), lammps_number(hi[axis] - border_A)]
        else:
            bounds += ["INF", "INF"]
    session.command(f"region {_CORE_REGION} block {' '.join(bounds)} units box")
    session.command(f"group {_CORE_GROUP} region {_CORE_REGION}")
    session.command(f"group {BORDER_GROUP} subtract all {_CORE_GROUP}")
    return count_atoms(session, BORDER_GROUP)


def add_border_thermostat(session: LammpsSession, kind: BorderThermostat, temperature_K: float,
                          damping_fs: float, seed: int) -> None:
    """Hold the border group at ``temperature_K`` (all atoms are integrated by the caller's ``fix nve``)."""
    damping = lammps_number(fs_to_ps(damping_fs))
    if kind == "langevin":
        temperature = lammps_number(temperature_K)
        session.command(f"fix {_BORDER_FIX} {BORDER_GROUP} langevin {temperature} {temperature} "
                        f"{damping} {marsaglia_seed(seed)}")
    elif kind == "berendsen":
        session.command(f"fix {_BORDER_FIX} {BORDER_GROUP} temp/berendsen {lammps_number(temperature_K)} "
                        f"{lammps_number(temperature_K)} {damping}")
    else:
        raise ValueError(f"unknown border thermostat {kind!r} (langevin or berendsen)")


def kick(session: LammpsSession, index: int, direction: np.ndarray, energy_eV: float, mass_amu: float) -> None:
    """Give atom ``index`` (0-based, creation order) ``energy_eV`` of kinetic energy along ``direction``
    (ASE frame), replacing its thermal velocity."""
    unit = np.asarray(direction, dtype=float)
    norm = float(np.linalg.norm(unit))
    if not np.isfinite(norm) or norm == 0:
        raise ValueError(f"PKA direction {direction} has no length")
    velocity = session.box.to_lammps(unit / norm) * speed_A_per_ps(energy_eV, mass_amu)
    vx, vy, vz = (lammps_number(v) for v in velocity)
    session.command(f"set atom {int(index) + 1} vx {vx} vy {vy} vz {vz}")


def add_adaptive_timestep(session: LammpsSession, max_timestep_fs: float, max_displacement_A: float) -> None:
    """Reset the timestep every step so that no atom moves more than ``max_displacement_A`` in one."""
    session.command(f"fix {_TIMESTEP_FIX} all dt/reset 1 NULL {lammps_number(fs_to_ps(max_timestep_fs))} "
                    f"{lammps_number(max_displacement_A)} units box")


def add_electronic_stopping(session: LammpsSession, table: Path, min_energy_eV: float) -> None:
    """Electronic stopping from ``table`` (the format of ``fix electron/stopping``) above ``min_energy_eV``."""
    session.command(
        f"fix {STOPPING_FIX} all electron/stopping {lammps_number(min_energy_eV)} {lammps_word(str(table))}")


def add_two_temperature(session: LammpsSession, *, seed: int, specific_heat_eV_per_K: float,
                        electron_density_per_A3: float, conductivity_eV_per_ps_A_K: float,
                        coupling_amu_per_ps: float, stopping_amu_per_ps: float, stopping_velocity_A_per_ps: float,
                        grid: tuple[int, int, int], electron_temperature_K: float) -> None:
    """The two-temperature model on every atom (``fix ttm``), electrons starting at ``electron_temperature_K``.
    Metal units are the argument units, so the numbers pass through unchanged."""
    values = (specific_heat_eV_per_K, electron_density_per_A3, conductivity_eV_per_ps_A_K, coupling_amu_per_ps,
              stopping_amu_per_ps, stopping_velocity_A_per_ps)
    nx, ny, nz = (int(n) for n in grid)
    session.command(f"fix {TTM_FIX} all ttm {marsaglia_seed(seed)} {' '.join(lammps_number(v) for v in values)} "
                    f"{nx} {ny} {nz} set {lammps_number(electron_temperature_K)}")


def electron_energy_eV(session: LammpsSession) -> float:
    """Heat held by the electrons on the two-temperature grid now (the first element of ``fix ttm``'s vector)."""
    return session.fix_vector(TTM_FIX, 0)


def electronic_loss_eV(session: LammpsSession) -> float:
    """Energy removed by electronic stopping since the fix was defined."""
    return session.fix_scalar(STOPPING_FIX)


def run_until(session: LammpsSession, end_ps: float, *, chunk_steps: int, max_steps: int,
              on_chunk: Callable[[float], None] | None = None) -> float:
    """Run in chunks until the simulation time reaches ``end_ps`` (the timestep may change as it runs);
    ``on_chunk(time_ps)`` after each chunk. Returns the time reached."""
    first = True
    start_step = session.step
    _, now = session.time_ps()
    while now < end_ps:
        if session.step - start_step >= max_steps:
            raise InputDataError(
                f"{max_steps} steps reached {now:.4g} of {end_ps:.4g} ps: the adaptive timestep has collapsed "
                "(an atom moving far too fast, e.g. an overlap the potential does not repel)"
            )
        session.run(chunk_steps, setup=first)
        first = False
        _, now = session.time_ps()
        if on_chunk is not None:
            on_chunk(now)
    return now
