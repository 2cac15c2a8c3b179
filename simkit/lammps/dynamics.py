"""MD building blocks on a :class:`~simkit.lammps.session.LammpsSession`.

Each function issues the LAMMPS commands for one physical operation, taking
physical units in its argument names (fs, ps, K, bar) and converting to LAMMPS
metal units (ps) here, so drivers never write LAMMPS syntax.
"""

from __future__ import annotations

from typing import Callable

from simkit.lammps.session import LammpsSession
from simkit.units import fs_to_ps

# LAMMPS seeds must be positive 31-bit integers.
_MAX_LAMMPS_SEED = 2**31 - 1


def lammps_seed(seed: int) -> int:
    """Map any non-negative integer seed onto LAMMPS's accepted range [1, 2^31 - 1]."""
    return int(seed) % (_MAX_LAMMPS_SEED - 1) + 1


def set_timestep(session: LammpsSession, timestep_fs: float) -> None:
    if timestep_fs <= 0:
        raise ValueError(f"timestep_fs must be positive, got {timestep_fs}")
    session.command(f"timestep {fs_to_ps(timestep_fs)!r}")


def create_velocities(session: LammpsSession, temperature_K: float, seed: int, group: str = "all") -> None:
    """Gaussian velocities at ``temperature_K`` with zero total momentum and angular momentum."""
    rot = "yes" if not all(session.box.pbc) else "no"
    session.command(
        f"velocity {group} create {float(temperature_K)!r} {lammps_seed(seed)} mom yes rot {rot} dist gaussian"
    )


def minimise(
    session: LammpsSession,
    *,
    energy_tolerance: float = 0.0,
    force_tolerance_eV_per_A: float = 1e-3,
    max_iterations: int = 1000,
    relax_box_bar: float | None = None,
    relax_box_dims: str = "aniso",
) -> None:
    """Conjugate-gradient minimisation; ``relax_box_bar`` also relaxes the cell to that pressure, along
    ``relax_box_dims`` (``aniso``: each length on its own; ``iso``; or one of ``x``, ``y``, ``z``)."""
    if relax_box_dims not in ("aniso", "iso", "x", "y", "z"):
        raise ValueError(f"relax_box_dims must be aniso, iso, x, y or z, got {relax_box_dims!r}")
    if relax_box_bar is not None:
        session.command(f"fix simkit_boxrelax all box/relax {relax_box_dims} {float(relax_box_bar)!r} vmax 0.001")
    session.command("min_style cg")
    session.command(
        f"minimize {float(energy_tolerance)!r} {float(force_tolerance_eV_per_A)!r} "
        f"{int(max_iterations)} {10 * int(max_iterations)}"
    )
    if relax_box_bar is not None:
        session.command("unfix simkit_boxrelax")


def add_nvt(
    session: LammpsSession,
    fix_id: str,
    start_K: float,
    stop_K: float,
    damping_fs: float,
    group: str = "all",
) -> None:
    """Nose-Hoover NVT; the target ramps linearly from ``start_K`` to ``stop_K`` over the run."""
    session.command(
        f"fix {fix_id} {group} nvt temp {float(start_K)!r} {float(stop_K)!r} {fs_to_ps(damping_fs)!r}"
    )


def add_npt(
    session: LammpsSession,
    fix_id: str,
    start_K: float,
    stop_K: float,
    damping_fs: float,
    pressure_bar: float,
    pressure_damping_fs: float,
    couple: str = "iso",
    group: str = "all",
) -> None:
    """Nose-Hoover NPT (``couple``: iso, aniso or tri)."""
    session.command(
        f"fix {fix_id} {group} npt temp {float(start_K)!r} {float(stop_K)!r} {fs_to_ps(damping_fs)!r} "
        f"{couple} {float(pressure_bar)!r} {float(pressure_bar)!r} {fs_to_ps(pressure_damping_fs)!r}"
    )


def add_nve(session: LammpsSession, fix_id: str, group: str = "all") -> None:
    session.command(f"fix {fix_id} {group} nve")


def remove_fix(session: LammpsSession, fix_id: str) -> None:
    session.command(f"unfix {fix_id}")


def run_steps(
    session: LammpsSession,
    steps: int,
    *,
    chunk: int,
    on_chunk: Callable[[dict[str, float]], None] | None = None,
) -> None:
    """Run ``steps`` MD steps in chunks of ``chunk``, calling ``on_chunk(thermo)`` after each.

    The ``start``/``stop`` keywords make fixes that ramp (e.g. a thermostat target)
    see the whole stage, not each chunk, and ``pre no`` skips re-setup between chunks.
    """
    if steps < 0 or chunk <= 0:
        raise ValueError(f"need steps >= 0 and chunk > 0, got {steps}, {chunk}")
    begin = session.step
    end = begin + steps
    done = 0
    first = True
    while done < steps:
        n = min(chunk, steps - done)
        session.run(n, start=begin, stop=end, setup=first)
        first = False
        done += n
        if on_chunk is not None:
            on_chunk(session.thermo())
