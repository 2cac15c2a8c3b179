"""One survival replica: heat, hold, check every few steps, end as survived, failed or cancelled.

:func:`run_replica` never raises for anything the potential does: LAMMPS errors
(lost atoms, neighbour-list overflow, ...) and broken limits become a failed
:class:`ReplicaResult` with the step, time and mode. Only problems that are not
the replica's (the potential cannot be installed, a bad cell) come back as
status ``error``, which stops the whole screen.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Callable

from ase import Atoms
from ase.io import write

from simkit.errors import LammpsError, SimkitError
from simkit.lammps import dynamics
from simkit.lammps.gamma import GammaWatch, graded_structure_on_root, max_gamma, watch_gamma
from simkit.lammps.monitors import MonitorSample, StabilityMonitor
from simkit.lammps.potentials.base import Potential
from simkit.lammps.session import LammpsSession
from simkit.screening.detection import (
    Baseline,
    Failure,
    ResolvedLimits,
    check_gamma,
    check_sample,
    classify_lammps_error,
)
from simkit.screening.settings import SurvivalSettings
from simkit.units import fs_to_ps


class ReplicaStatus(StrEnum):
    """How a survival replica ended."""

    SURVIVED = "survived"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ERROR = "error"  # the replica could not start; not the potential's fault


_FIX = "simkit_survival"


@dataclass
class ReplicaTask:
    """One MD run to do: a starting cell at one temperature with one velocity seed."""

    index: int
    temperature_K: float
    replica: int
    structure_index: int
    seed: int
    atoms: Atoms


@dataclass
class ReplicaResult:
    """How one replica ended, with the extremes it reached (units in the names)."""

    index: int
    temperature_K: float
    replica: int
    structure_index: int
    seed: int
    natoms: int
    status: str = ReplicaStatus.CANCELLED
    mode: str | None = None
    message: str = ""
    error_type: str | None = None
    failure_step: int | None = None
    failure_time_ps: float | None = None
    steps_completed: int = 0
    simulated_ps: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0  # CPU time of the process running it; well below wall_s means the core was shared
    max_force_eV_per_A: float | None = None
    min_distance_A: float | None = None
    max_temperature_K: float | None = None
    mean_coordination_range: list[float] = field(default_factory=list)
    nve_drift_eV_per_atom: float | None = None
    max_gamma: float | None = None  # largest ACE extrapolation grade at the checks (when graded)
    extrapolation_structure: str | None = None  # extxyz (per-atom gamma): the cell past max_gamma, or the first
    # one above settings.capture_gamma

    @property
    def survived(self) -> bool:
        return self.status == ReplicaStatus.SURVIVED

    @property
    def failed(self) -> bool:
        return self.status == ReplicaStatus.FAILED

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ReplicaResult":
        return cls(**data)

    def observe(self, sample: MonitorSample) -> None:
        """Fold one sample into the extremes (non-finite values are kept out)."""
        self.steps_completed = sample.step

        def finite(value: float) -> bool:
            return math.isfinite(value)

        if finite(sample.max_force_eV_per_A):
            self.max_force_eV_per_A = max(self.max_force_eV_per_A or 0.0, sample.max_force_eV_per_A)
        if finite(sample.min_distance_A):
            current = self.min_distance_A if self.min_distance_A is not None else math.inf
            self.min_distance_A = min(current, sample.min_distance_A)
        if finite(sample.temperature_K):
            self.max_temperature_K = max(self.max_temperature_K or 0.0, sample.temperature_K)
        if finite(sample.mean_coordination):
            low, high = self.mean_coordination_range or [math.inf, -math.inf]
            self.mean_coordination_range = [min(low, sample.mean_coordination), max(high, sample.mean_coordination)]


class _Stopped(Exception):
    """Raised from the chunk callback to end the replica early."""

    def __init__(self, failure: Failure | None, sample: MonitorSample):
        super().__init__(failure.message if failure else "cancelled")
        self.failure = failure
        self.sample = sample


@dataclass(frozen=True)
class _Phase:
    name: str
    steps: int
    start_K: float
    stop_K: float
    thermostat: bool  # False: NVE with the drift check


def _phases(settings: SurvivalSettings, temperature_K: float) -> list[_Phase]:
    phases = []
    if settings.ramp is not None:
        start = settings.ramp.start_temperature_K
        phases.append(_Phase("ramp", settings.steps(settings.ramp.duration_ps), start, temperature_K, True))
    phases.append(_Phase("hold", settings.steps(settings.duration_ps), temperature_K, temperature_K, True))
    if settings.nve_duration_ps > 0:
        phases.append(_Phase("nve", settings.steps(settings.nve_duration_ps), temperature_K, temperature_K, False))
    return [p for p in phases if p.steps > 0]


def _current_step(session: LammpsSession, fallback: int) -> int:
    try:
        return session.step
    except Exception:  # noqa: BLE001 - after a LAMMPS error the instance may refuse; keep what we know
        return fallback


def run_replica(
    task: ReplicaTask,
    potential: Potential,
    settings: SurvivalSettings,
    limits: ResolvedLimits,
    *,
    comm=None,
    should_stop: Callable[[], bool] = lambda: False,
    log_path: Path | None = None,
    structure_path: Path | None = None,
) -> ReplicaResult:
    """Run one replica on ``comm`` (one rank is best: a LAMMPS error then stays local).

    ``should_stop`` is polled after every check; when it returns True the
    replica ends as ``cancelled`` (the early-stop path). With ``limits.max_gamma``
    the ACE extrapolation grade is read at every check; the cell that exceeds it is
    written to ``structure_path`` (extxyz, per-atom ``gamma``).
    """
    result = ReplicaResult(
        task.index, task.temperature_K, task.replica, task.structure_index, task.seed, len(task.atoms)
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    species = potential.elements or tuple(sorted(set(task.atoms.get_chemical_symbols())))
    timestep_ps = fs_to_ps(settings.timestep_fs)
    try:
        with LammpsSession(comm, log_path=log_path) as session:
            prepared = _prepare(session, task, potential, species, settings, limits, result)
            if prepared is not None:
                checks = _Checks(*prepared, structure_path, settings.capture_gamma)
                _run_checked(session, checks, task, settings, limits, result, should_stop, timestep_ps)
    except SimkitError as exc:  # LAMMPS could not start at all
        result.status, result.error_type, result.message = ReplicaStatus.ERROR, type(exc).__name__, str(exc)
    result.simulated_ps = result.steps_completed * timestep_ps
    result.wall_s = time.perf_counter() - started
    result.cpu_s = time.process_time() - cpu_started
    return result


@dataclass
class _Checks:
    """What is read at every check: the stability monitor, and the extrapolation grade if asked."""

    monitor: StabilityMonitor
    gamma: GammaWatch | None
    structure_path: Path | None
    capture_gamma: float | None = None
    kept_gamma: float = 0.0

    def extrapolation(self, session, limits: ResolvedLimits, result: ReplicaResult) -> Failure | None:
        """The extrapolation failure at this check, if any; keeps the cell that fails, or the first one
        above ``capture_gamma`` (one file per replica: the onset, before a run that has left the training
        domain produces cells no potential should learn from)."""
        if self.gamma is None:
            return None
        grade = max_gamma(session, self.gamma)
        result.max_gamma = max(result.max_gamma or 0.0, grade)
        failure = check_gamma(grade, limits)
        captured = self.capture_gamma is not None and grade > self.capture_gamma and not self.kept_gamma
        if (failure is not None or captured) and self.structure_path is not None:
            atoms = graded_structure_on_root(session, self.gamma)
            if atoms is not None:
                self.structure_path.parent.mkdir(parents=True, exist_ok=True)
                write(self.structure_path, atoms, format="extxyz")
                result.extrapolation_structure = str(self.structure_path)
            self.kept_gamma = grade
        return failure


def _prepare(session, task, potential, species, settings, limits, result) -> tuple | None:
    """Load the cell and the potential; a failure here is the setup's, not the potential's (status error)."""
    try:
        session.create_system(task.atoms, species, label=f"starting cell {task.structure_index}")
        session.set_potential(potential)
        monitor = StabilityMonitor(session, limits.coordination_cutoff_A)
        dynamics.set_timestep(session, settings.timestep_fs)
        # graded on the check steps (every chunk of the run starts on one)
        graded = limits.max_gamma is not None or settings.capture_gamma is not None
        gamma = watch_gamma(session, settings.check_every_steps) if graded else None
    except SimkitError as exc:
        result.status, result.error_type, result.message = ReplicaStatus.ERROR, type(exc).__name__, str(exc)
        return None
    return monitor, gamma


def _run_checked(session, checks, task, settings, limits, result, should_stop, timestep_ps) -> None:
    """Simulate and turn every way the run can end into the result's status, mode, step and time."""
    try:
        _simulate(session, checks, task, settings, limits, result, should_stop)
        result.status = ReplicaStatus.SURVIVED
    except _Stopped as stop:
        result.status = ReplicaStatus.FAILED if stop.failure else ReplicaStatus.CANCELLED
        if stop.failure:
            result.mode, result.message = stop.failure.mode, stop.failure.message
            result.failure_step = stop.sample.step
            result.failure_time_ps = stop.sample.step * timestep_ps
    except LammpsError as exc:
        step = _current_step(session, result.steps_completed)
        result.status, result.mode, result.message = ReplicaStatus.FAILED, classify_lammps_error(exc.lammps_message), str(exc)
        result.failure_step, result.failure_time_ps = step, step * timestep_ps
        result.steps_completed = step


def _simulate(
    session: LammpsSession,
    checks: _Checks,
    task: ReplicaTask,
    settings: SurvivalSettings,
    limits: ResolvedLimits,
    result: ReplicaResult,
    should_stop: Callable[[], bool],
) -> None:
    phases = _phases(settings, task.temperature_K)
    monitor = checks.monitor
    session.run(0)
    first = monitor.sample()
    baseline = Baseline(len(task.atoms), first.mean_coordination, first.volume_A3)
    result.observe(first)
    initial_failure = check_sample(first, limits, baseline, setpoint_K=phases[0].start_K)
    initial_failure = initial_failure or checks.extrapolation(session, limits, result)
    if initial_failure:
        raise _Stopped(initial_failure, first)
    dynamics.create_velocities(session, phases[0].start_K, task.seed)
    last = first
    for phase in phases:
        begin = last.step
        nve_reference = None if phase.thermostat else last.total_energy_eV
        if not phase.thermostat:
            dynamics.add_nve(session, _FIX)
        elif settings.ensemble == "npt":
            dynamics.add_npt(
                session, _FIX, phase.start_K, phase.stop_K, settings.thermostat_damping_fs,
                settings.pressure_bar, settings.barostat_damping_fs,
            )
        else:
            dynamics.add_nvt(session, _FIX, phase.start_K, phase.stop_K, settings.thermostat_damping_fs)

        def on_chunk(_thermo: dict, phase=phase, begin=begin, nve_reference=nve_reference) -> None:
            nonlocal last
            sample = monitor.sample()
            last = sample
            result.observe(sample)
            fraction = (sample.step - begin) / phase.steps
            setpoint = phase.start_K + (phase.stop_K - phase.start_K) * fraction
            failure = check_sample(sample, limits, baseline, setpoint_K=setpoint, nve_reference_eV=nve_reference)
            if nve_reference is not None:
                drift = abs(sample.total_energy_eV - nve_reference) / baseline.natoms
                if math.isfinite(drift):
                    result.nve_drift_eV_per_atom = max(result.nve_drift_eV_per_atom or 0.0, drift)
            # a physical failure at the same check is the one reported: the grade only warns ahead of one
            failure = failure or checks.extrapolation(session, limits, result)
            if failure is not None:
                raise _Stopped(failure, sample)
            if should_stop():
                raise _Stopped(None, sample)

        dynamics.run_steps(session, phase.steps, chunk=settings.check_every_steps, on_chunk=on_chunk)
        dynamics.remove_fix(session, _FIX)
