"""LAMMPS-side measurements for stability screens and speed benchmarks.

:class:`StabilityMonitor` defines a few cheap computes on a running system and
reads them back with the thermo output at the end of every ``run`` chunk:

* largest force on any atom: an atom-style variable ``|f|`` reduced with ``max``;
* shortest pair distance: ``compute pair/local dist`` (every pair inside the
  pair style's cutoff, from an occasional neighbour list built only when the
  value is asked for) reduced with ``min``;
* coordination: ``compute coord/atom`` with a short cutoff, reduced to its mean
  and maximum.

They cost one neighbour-list build each per sample, far less than one MD step
of an ML potential, and are evaluated only on the steps where thermo is printed
(the first and last step of each ``run``).

:func:`parse_loop_timings` reads what LAMMPS prints after every run: the loop
time, the ``Performance:`` line and the MPI task timing breakdown (Pair, Neigh,
Comm, Output, Modify, Other). :class:`LogTail` hands out the part of a LAMMPS
log written since it was last read.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from simkit.lammps.session import LammpsSession

_FORCE_VARIABLE = "simkit_mon_fnorm"
_MAX_FORCE = "simkit_mon_fmax"
_PAIRS = "simkit_mon_pairs"
_MIN_DISTANCE = "simkit_mon_rmin"
_COORDINATION = "simkit_mon_coord"
_MEAN_COORDINATION = "simkit_mon_cmean"
_MAX_COORDINATION = "simkit_mon_cmax"
_COMPUTES = (_MAX_FORCE, _MIN_DISTANCE, _MEAN_COORDINATION, _MAX_COORDINATION, _PAIRS, _COORDINATION)
# compute reduce min over an empty local vector returns LAMMPS's BIG (1e20).
_NO_PAIR_SENTINEL = 1.0e19


@dataclass(frozen=True)
class MonitorSample:
    """One reading of the monitored quantities (metal units, as LAMMPS reports them)."""

    step: int
    time_ps: float
    temperature_K: float
    potential_energy_eV: float
    total_energy_eV: float
    volume_A3: float
    max_force_eV_per_A: float
    min_distance_A: float  # inf when no pair lies inside the pair style's cutoff
    mean_coordination: float
    max_coordination: float

    @property
    def finite(self) -> bool:
        values = (self.temperature_K, self.potential_energy_eV, self.total_energy_eV, self.max_force_eV_per_A)
        return all(math.isfinite(v) for v in values)


class StabilityMonitor:
    """Installs the stability computes on ``session`` and reads them at thermo steps.

    ``coordination_cutoff_A`` must not exceed the neighbour-list cutoff (pair
    cutoff plus skin); LAMMPS refuses it otherwise. Re-installing after
    ``create_system`` is needed because ``clear`` drops all computes.
    """

    def __init__(self, session: LammpsSession, coordination_cutoff_A: float):
        if coordination_cutoff_A <= 0:
            raise ValueError(f"coordination_cutoff_A must be positive, got {coordination_cutoff_A}")
        self.session = session
        self.coordination_cutoff_A = float(coordination_cutoff_A)
        session.commands([
            f"variable {_FORCE_VARIABLE} atom sqrt(fx*fx+fy*fy+fz*fz)",
            f"compute {_MAX_FORCE} all reduce max v_{_FORCE_VARIABLE}",
            f"compute {_PAIRS} all pair/local dist",
            f"compute {_MIN_DISTANCE} all reduce min c_{_PAIRS} inputs local",
            f"compute {_COORDINATION} all coord/atom cutoff {self.coordination_cutoff_A!r}",
            f"compute {_MEAN_COORDINATION} all reduce ave c_{_COORDINATION}",
            f"compute {_MAX_COORDINATION} all reduce max c_{_COORDINATION}",
        ])
        session.set_thermo(every=0, extra=[f"c_{name}" for name in _COMPUTES[:4]])

    def sample(self) -> MonitorSample:
        """The values at the last thermo step (call after a ``run``)."""
        thermo = self.session.thermo()
        min_distance = thermo[f"c_{_MIN_DISTANCE}"]
        return MonitorSample(
            step=int(thermo["step"]),
            time_ps=float(thermo["time"]),
            temperature_K=thermo["temp"],
            potential_energy_eV=thermo["pe"],
            total_energy_eV=thermo["etotal"],
            volume_A3=thermo["vol"],
            max_force_eV_per_A=thermo[f"c_{_MAX_FORCE}"],
            min_distance_A=math.inf if min_distance >= _NO_PAIR_SENTINEL else min_distance,
            mean_coordination=thermo[f"c_{_MEAN_COORDINATION}"],
            max_coordination=thermo[f"c_{_MAX_COORDINATION}"],
        )

    def remove(self) -> None:
        """Drop the computes and return thermo output to the session default."""
        self.session.set_thermo(every=0)
        self.session.commands([f"uncompute {name}" for name in _COMPUTES])


# -- timing output of a run ---------------------------------------------------------

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_LOOP = re.compile(rf"^Loop time of ({_NUMBER}) on (\d+) procs for (\d+) steps with (\d+) atoms", re.M)
_PERFORMANCE = re.compile(r"^Performance:(.*)$", re.M)
_CPU_USE = re.compile(rf"^({_NUMBER})% CPU use with (\d+) MPI tasks x (\d+) OpenMP threads", re.M)
_SECTION = re.compile(
    rf"^(\w+)\s*\|\s*({_NUMBER})?\s*\|\s*({_NUMBER})\s*\|\s*({_NUMBER})?\s*\|\s*({_NUMBER})?\s*\|\s*({_NUMBER})\s*$",
    re.M,
)


@dataclass(frozen=True)
class LoopTiming:
    """What LAMMPS reports after one ``run``.

    ``sections_s`` holds the average time over ranks per section (Pair, Neigh,
    Comm, Output, Modify, Other, and Bond/Kspace when present); ``sections_max_s``
    the slowest rank's time (absent for Other, which LAMMPS computes as the rest).
    ``performance`` maps the units of the ``Performance:`` line to their values,
    e.g. ``{"ns/day": 0.67, "timesteps/s": 7.8, "katom-step/s": 7.8}``.
    """

    loop_time_s: float
    procs: int
    steps: int
    atoms: int
    performance: dict[str, float] = field(default_factory=dict)
    cpu_use_percent: float | None = None
    openmp_threads: int | None = None
    sections_s: dict[str, float] = field(default_factory=dict)
    sections_max_s: dict[str, float] = field(default_factory=dict)

    @property
    def katom_steps_per_s(self) -> float | None:
        """LAMMPS's own figure in katom-step/s, whichever prefix it printed it with (it picks one by
        magnitude); None when the Performance line gave none."""
        for unit, scale in (("katom-step/s", 1.0), ("Matom-step/s", 1e3), ("Gatom-step/s", 1e6),
                            ("atom-step/s", 1e-3)):
            if unit in self.performance:
                return self.performance[unit] * scale
        return None

    @property
    def atom_steps_per_s(self) -> float:
        """Atom-steps per second from the loop time (LAMMPS's katom-step/s x 1000)."""
        return self.atoms * self.steps / self.loop_time_s if self.loop_time_s > 0 else math.inf


def _parse_performance(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in text.split(","):
        words = item.split()
        if len(words) == 2:
            try:
                values[words[1]] = float(words[0])
            except ValueError:
                continue
    return values


def parse_loop_timings(text: str) -> list[LoopTiming]:
    """Every run summary in a piece of LAMMPS log or screen output, in order."""
    starts = [m for m in _LOOP.finditer(text)]
    timings = []
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        block = text[match.end():end]
        performance = _PERFORMANCE.search(block)
        cpu = _CPU_USE.search(block)
        sections: dict[str, float] = {}
        sections_max: dict[str, float] = {}
        table_at = block.find("MPI task timing breakdown")
        if table_at >= 0:
            table_end = block.find("\n\n", block.find("---", table_at))
            table = block[table_at: table_end if table_end >= 0 else len(block)]
            for row in _SECTION.finditer(table):
                sections[row.group(1)] = float(row.group(3))
                if row.group(4):
                    sections_max[row.group(1)] = float(row.group(4))
        timings.append(LoopTiming(
            loop_time_s=float(match.group(1)),
            procs=int(match.group(2)),
            steps=int(match.group(3)),
            atoms=int(match.group(4)),
            performance=_parse_performance(performance.group(1)) if performance else {},
            cpu_use_percent=float(cpu.group(1)) if cpu else None,
            openmp_threads=int(cpu.group(3)) if cpu else None,
            sections_s=sections,
            sections_max_s=sections_max,
        ))
    return timings


class LogTail:
    """Reads a LAMMPS log file incrementally (only rank 0 of a LAMMPS run writes it)."""

    def __init__(self, session: LammpsSession, path: Path):
        self.session = session
        self.path = Path(path)
        self._offset = 0

    def new_text(self) -> str:
        """Text appended since the previous call (LAMMPS's buffers are flushed first)."""
        self.session.flush()
        if not self.path.is_file():
            return ""
        with self.path.open("r", encoding="utf-8", errors="replace") as handle:
            handle.seek(self._offset)
            text = handle.read()
            self._offset = handle.tell()
        return text
