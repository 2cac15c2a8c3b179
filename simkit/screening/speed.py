"""LAMMPS speed of a potential: atom-steps per second (per core), measured two ways.

For each cell size the potential runs NVE MD from velocities at
``temperature_K``: ``warmup_steps`` first (neighbour lists, caches, the first
setup), then ``repeats`` runs of ``steps`` that skip the setup (``run N pre
no``). Each repeat is timed by the wall clock around the ``run`` command (the
slowest rank's time) and by LAMMPS itself (its loop time, ``Performance:`` line
and the Pair/Neigh/Comm/Output/Modify/Other breakdown from its log). Figures are
medians over the repeats with their min/max.

:func:`measure_speed` runs on the communicator it is given: one rank, or all
ranks of an ``mpirun -np N`` job (``simkit speed`` does the latter when started
under mpirun). Scans over rank counts launch one such job per point
(``simkit bench scaling``).
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated

from ase import Atoms
from pydantic import Field, field_validator

from simkit.bench.machine import machine_info
from simkit.config.schema import Schema
from simkit.errors import ConfigError, RunFailed
from simkit.lammps import dynamics
from simkit.lammps.monitors import LogTail, LoopTiming, parse_loop_timings
from simkit.lammps.potentials.base import Potential
from simkit.lammps.session import LammpsSession
from simkit.runtime.mpi import rank_of, size_of
from simkit.screening.survival import replicate_to

SPEED_JSON = "speed.json"
_FIX = "simkit_speed"


class TimingSettings(Schema):
    """How to time one cell (steps are MD steps of ``timestep_fs``)."""

    steps: int = Field(default=100, ge=1, description="MD steps per timed repeat")
    warmup_steps: int = Field(default=20, ge=0)
    repeats: int = Field(default=5, ge=1)
    timestep_fs: float = Field(default=1.0, gt=0)
    temperature_K: float = Field(default=300.0, gt=0, description="initial velocities (then NVE)")
    min_atoms_per_rank: int = Field(default=1, ge=1, description="refuse cells with fewer atoms per rank")


class SpeedSettings(TimingSettings):
    """Timing of a potential on cells of several sizes."""

    # A billion atoms per point is past what a speed test on one machine can build (the list takes typos).
    sizes_atoms: list[Annotated[int, Field(gt=0, le=10**9)]] = Field(
        default=[1000], min_length=1, description="cells replicated to at least these")

    @field_validator("sizes_atoms")
    @classmethod
    def _positive(cls, values: list[int]) -> list[int]:
        if any(v < 1 for v in values):
            raise ValueError(f"sizes must be positive atom counts, got {values}")
        return values


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


@dataclass
class SpeedPoint:
    """One cell size on one communicator: the repeats and their medians."""

    natoms: int
    ranks: int
    steps: int
    wall_s: list[float]
    lammps_loop_s: list[float]
    lammps_katom_steps_per_s: list[float | None]  # LAMMPS's Performance line (None: it printed none)
    sections_s: dict[str, float] = field(default_factory=dict)  # median over repeats, rank average
    cpu_use_percent: float | None = None

    @property
    def atom_steps_per_s(self) -> dict[str, float]:
        """From the wall clock: median, min and max over repeats."""
        return _summary([self.natoms * self.steps / t for t in self.wall_s])

    @property
    def atom_steps_per_s_per_core(self) -> dict[str, float]:
        return {k: v / self.ranks for k, v in self.atom_steps_per_s.items()}

    @property
    def lammps_atom_steps_per_s(self) -> dict[str, float]:
        """From LAMMPS's loop time: median, min and max over repeats."""
        return _summary([self.natoms * self.steps / t for t in self.lammps_loop_s])

    @property
    def relative_spread(self) -> float:
        """(max - min) / median of the wall-clock figure."""
        s = self.atom_steps_per_s
        return (s["max"] - s["min"]) / s["median"]

    @property
    def wall_over_lammps(self) -> float:
        """Median wall-clock time over median LAMMPS loop time (1 = they agree)."""
        return statistics.median(self.wall_s) / statistics.median(self.lammps_loop_s)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(
            atom_steps_per_s=self.atom_steps_per_s,
            atom_steps_per_s_per_core=self.atom_steps_per_s_per_core,
            lammps_atom_steps_per_s=self.lammps_atom_steps_per_s,
            relative_spread=self.relative_spread,
            wall_over_lammps=self.wall_over_lammps,
        )
        return data


@dataclass
class SpeedReport:
    points: list[SpeedPoint]
    potential: dict
    settings: dict
    lammps_version: int
    machine: dict

    def to_dict(self) -> dict:
        return {
            "points": [p.to_dict() for p in self.points],
            "potential": self.potential,
            "settings": self.settings,
            "lammps_version": self.lammps_version,
            "machine": self.machine,
        }

    def table(self) -> str:
        lines = [f"{'atoms':>8} {'ranks':>5} {'atom-steps/s':>13} {'spread':>7} {'per core':>10} "
                 f"{'LAMMPS loop':>12} {'Performance':>12}  breakdown (s)"]
        for p in self.points:
            printed = [v for v in p.lammps_katom_steps_per_s if v is not None]
            performance = 1000 * statistics.median(printed) if printed else math.nan
            breakdown = " ".join(f"{k} {v:.3g}" for k, v in p.sections_s.items())
            lines.append(
                f"{p.natoms:>8} {p.ranks:>5} {p.atom_steps_per_s['median']:>13.5g} {100 * p.relative_spread:>6.1f}% "
                f"{p.atom_steps_per_s_per_core['median']:>10.5g} {p.lammps_atom_steps_per_s['median']:>12.5g} "
                f"{performance:>12.5g}  {breakdown}"
            )
        return "\n".join(lines)


def _median_sections(timings: list[LoopTiming]) -> dict[str, float]:
    names = dict.fromkeys(name for t in timings for name in t.sections_s)
    return {n: statistics.median(t.sections_s.get(n, 0.0) for t in timings) for n in names}


def _bcast(comm, value):
    return comm.bcast(value, root=0) if comm is not None else value


def measure_speed(
    potential: Potential,
    settings: SpeedSettings,
    *,
    structure: Atoms,
    comm=None,
    seed: int = 0,
    log_dir: Path | None = None,
) -> SpeedReport:
    """Time ``potential`` on ``structure`` replicated to each of ``settings.sizes_atoms``.

    Collective over ``comm`` (None: LAMMPS on this process alone). ``log_dir``
    keeps the LAMMPS logs the timings were read from (default: a temporary
    directory). Raises ConfigError when a cell has fewer than
    ``min_atoms_per_rank`` atoms per rank.
    """
    ranks = size_of(comm)
    rank = rank_of(comm)
    temporary = tempfile.TemporaryDirectory(prefix="simkit-speed-") if log_dir is None and rank == 0 else None
    if log_dir is not None and rank == 0:
        Path(log_dir).mkdir(parents=True, exist_ok=True)  # before the broadcast: no rank opens a log in it earlier
    directory = _bcast(comm, str(log_dir or (temporary.name if temporary else "")))
    points, version = [], 0
    try:
        for size in settings.sizes_atoms:
            cell = replicate_to(structure, size)
            if len(cell) < settings.min_atoms_per_rank * ranks:
                raise ConfigError(
                    f"too many ranks for the cell: {len(cell)} atoms on {ranks} ranks is fewer than "
                    f"min_atoms_per_rank = {settings.min_atoms_per_rank}; use a larger cell or fewer ranks"
                )
            log_path = Path(directory) / f"speed-{len(cell)}atoms-{ranks}ranks.lammps.log"
            point, version = _measure_one(potential, settings, cell, comm, ranks, seed, log_path)
            points.append(point)
    finally:
        if temporary is not None:
            temporary.cleanup()
    return SpeedReport(
        points=points, potential=potential.describe(), settings=settings.model_dump(mode="json"),
        lammps_version=version, machine=machine_info(),
    )


def _measure_one(potential, settings, cell, comm, ranks, seed, log_path) -> tuple[SpeedPoint, int]:
    species = potential.elements or tuple(sorted(set(cell.get_chemical_symbols())))
    with LammpsSession(comm, log_path=log_path) as session:
        session.create_system(cell, species, label=f"speed cell ({len(cell)} atoms)")
        session.set_potential(potential)
        dynamics.set_timestep(session, settings.timestep_fs)
        dynamics.create_velocities(session, settings.temperature_K, seed)
        dynamics.add_nve(session, _FIX)
        tail = LogTail(session, log_path)
        session.run(settings.warmup_steps)
        tail.new_text()
        walls, timings = [], []
        for _ in range(settings.repeats):
            if comm is not None:
                comm.Barrier()
            start = time.perf_counter()
            session.run(settings.steps, setup=False, post=True)
            wall = time.perf_counter() - start
            walls.append(comm.allreduce(wall, op=_max_op()) if comm is not None else wall)
            parsed = parse_loop_timings(tail.new_text()) if session.rank == 0 else []
            timings.append(_bcast(comm, parsed[-1] if parsed else None))
        version = session.version
    if any(t is None for t in timings):
        raise RunFailed(f"{log_path}: LAMMPS printed no run summary to read the loop time from")
    point = SpeedPoint(
        natoms=len(cell), ranks=ranks, steps=settings.steps, wall_s=walls,
        lammps_loop_s=[t.loop_time_s for t in timings],
        lammps_katom_steps_per_s=[t.katom_steps_per_s for t in timings],
        sections_s=_median_sections(timings),
        cpu_use_percent=statistics.median(t.cpu_use_percent for t in timings if t.cpu_use_percent is not None)
        if any(t.cpu_use_percent is not None for t in timings) else None,
    )
    return point, version


def _max_op():
    # lazy: importing mpi4py.MPI initialises MPI; only code running on a communicator gets here
    from mpi4py import MPI

    return MPI.MAX
