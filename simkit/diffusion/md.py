"""The MD at one temperature: heat, hold, rescale to the mean volume, produce; resumable from checkpoints.

Phases, run back to back in one LAMMPS session on the temperature's communicator:

1. ``ramp``: velocities drawn at ``start_K``, thermostat target ramped to T
   over ``ramp_ps`` (Nose-Hoover NPT at ``pressure_bar``, or NVT);
2. ``hold``: ``hold_ps`` at T (NPT or NVT); the volume of every thermo row
   in the last ``volume_average_fraction`` of the hold is averaged;
3. ``production``: the cell and positions are scaled isotropically to that
   mean volume (NPT only; velocities kept), then NVT (Nose-Hoover or Langevin)
   for the production time. A frame is written at its first step and every
   ``trajectory_every`` steps to ``trajectory.h5md``: atoms of the mobile
   species and of every charged species (for the charge current), wrapped
   positions plus image flags, so unwrapped positions are exact.

Files in the temperature's folder: ``thermo.csv`` (every phase, units in the
header), ``trajectory.h5md``, ``lammps.log`` (``lammps.resume<N>.log`` for
continued attempts), ``final.extxyz``, ``run_summary.json`` and
``checkpoints/`` (LAMMPS restart files at every phase end and every
``checkpoint_every`` steps, and ``state.json``). A continued run reads the last
restart file (ramps keep their start and end steps: Nose-Hoover chains and
barostats are restored), cuts ``thermo.csv`` and the HDF5 file back to it and
goes on, so nothing is missing or duplicated.

The structure is passed in as Atoms: ASE's file I/O under MPI broadcasts over
COMM_WORLD, which a run on a sub-communicator must not call.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from ase import Atoms

from simkit.diffusion.config import DiffusionConfig
from simkit.errors import ConfigError, InputDataError, LammpsError, RunFailed
from simkit.io import TRAJECTORY_FILE, H5mdWriter
from simkit.lammps import dynamics, thermostats
from simkit.lammps.box import scale_to_volume
from simkit.lammps.checkpoint import read_checkpoint, remove_checkpoints, write_checkpoint
from simkit.lammps.potentials.base import Potential
from simkit.runtime.hashing import sha256_file
from simkit.lammps.runs import run_span
from simkit.lammps.session import LammpsSession
from simkit.lammps.snapshot import take_snapshot
from simkit.lammps.structure import lammps_box
from simkit.runtime.files import atomic_write_text, replace_durably
from simkit.runtime.outputs import LAMMPS_LOG, THERMO_CSV
from simkit.runtime.provenance import RunRecord
from simkit.units import PS_PER_FS

log = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "state.json"
FINAL_STRUCTURE = "final.extxyz"
MOTION_FIX = "simkit_diffusion_motion"  # same ID on resume: the Nose-Hoover state comes back from the restart
_KEPT_CHECKPOINTS = 2
_THERMO_COLUMNS = (
    ("step", "step"), ("time_ps", "time"), ("temperature_K", "temp"), ("potential_energy_eV", "pe"),
    ("kinetic_energy_eV", "ke"), ("total_energy_eV", "etotal"), ("pressure_bar", "press"), ("volume_A3", "vol"),
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _steps(time_ps: float, timestep_fs: float) -> int:
    return max(1, round(time_ps / (timestep_fs * PS_PER_FS)))


@dataclass(frozen=True)
class Phase:
    name: str
    begin: int
    end: int
    start_K: float
    stop_K: float
    constant_pressure: bool
    thermo_every: int


def plan_phases(config: DiffusionConfig, temperature_K: float) -> list[Phase]:
    eq, prod, dt = config.equilibration, config.production, config.timestep_fs
    npt = eq.pressure_bar is not None
    phases, step = [], 0
    if eq.ramp_ps > 0:
        step = _steps(eq.ramp_ps, dt)
        phases.append(Phase("ramp", 0, step, eq.start_K, temperature_K, npt, eq.thermo_every))
    hold_end = step + _steps(eq.hold_ps, dt)
    phases.append(Phase("hold", step, hold_end, temperature_K, temperature_K, npt, eq.thermo_every))
    phases.append(Phase("production", hold_end, hold_end + _steps(prod.time_ps(), dt), temperature_K,
                        temperature_K, False, prod.thermo_every))
    return phases


def recorded_atoms(config: DiffusionConfig, atoms: Atoms) -> np.ndarray:
    """Mask of the atoms written to the trajectory: mobile species and every charged species."""
    wanted = set(config.mobile_species)
    if config.conductivity is not None:
        wanted |= {s for s, q in config.conductivity.charges_e.items() if q != 0}
    symbols = np.array(atoms.get_chemical_symbols())
    missing = sorted(set(config.mobile_species) - set(symbols))
    if missing:
        raise InputDataError(f"structure: no atoms of mobile species {missing} (it has {sorted(set(symbols))})")
    return np.isin(symbols, sorted(wanted))


def fingerprint(config: DiffusionConfig, temperature_K: float, potential: Potential) -> dict:
    """What defines the MD at one temperature (not the analysis, schedule or other temperatures)."""
    physics = config.model_dump(mode="json", exclude={"output_dir", "analysis", "schedule", "temperatures_K"})
    files = [Path(p) for p in potential.files()]
    if config.structure.file is not None:
        files.append(Path(config.structure.file))
    return {"config": physics, "temperature_K": temperature_K,
            "input_sha256": {str(p): sha256_file(p) for p in files}}


@dataclass
class MdState:
    """``checkpoints/state.json``: the last complete checkpoint and what had been recorded by then."""

    fingerprint_sha256: str
    phase: int = 0
    step: int = 0
    phase_complete: bool = False
    restart_file: str | None = None
    thermo_rows: int = 0
    hold_volume_sum_A3: float = 0.0
    hold_volume_rows: int = 0
    finished: bool = False
    attempts: list[dict] = field(default_factory=list)

    @staticmethod
    def path(folder: Path) -> Path:
        return Path(folder) / CHECKPOINT_DIR / STATE_FILE

    @classmethod
    def load(cls, folder: Path) -> "MdState | None":
        path = cls.path(folder)
        if not path.is_file():
            return None
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise InputDataError(f"{path}: unreadable checkpoint record: {exc}") from exc

    def save(self, folder: Path, rank: int) -> None:
        if rank != 0:
            return
        path = self.path(folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(asdict(self), indent=2) + "\n")


def starting_state(folder: Path, physics: dict, *, resume: bool, source: str) -> MdState | None:
    """The state to continue from (None: start afresh); refuses a resume whose inputs changed."""
    digest = hashlib.sha256(json.dumps(physics, sort_keys=True).encode()).hexdigest()
    state = MdState.load(folder)
    if not resume or state is None or state.restart_file is None:
        if resume and state is None:
            log.info("%s: nothing to resume, starting afresh", folder)
        return None
    if state.fingerprint_sha256 != digest:
        saved = Path(folder) / CHECKPOINT_DIR / "fingerprint.json"
        where = ""
        if saved.is_file():
            where = f" (first difference: '{_first_difference(json.loads(saved.read_text()), physics)}')"
        raise ConfigError(f"{source}: cannot resume {folder}: the config or its input files changed since it "
                          f"started{where}; restore them, or start again with --overwrite")
    return state


def _first_difference(old, new, path: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new or old[key] != new[key]:
                return _first_difference(old.get(key), new.get(key), where)
    return path or "<top level>"


class ThermoLog:
    """``thermo.csv``: one row per thermo reading (rank 0 writes); a resumed run keeps the first rows."""

    header = ["phase", *(name for name, _ in _THERMO_COLUMNS)]

    def __init__(self, path: Path, rank: int, keep_rows: int | None = None):
        self.path, self.rank = Path(path), rank
        self.rows = keep_rows or 0
        if rank != 0:
            return
        kept: list[list[str]] = []
        if keep_rows:
            with self.path.open(newline="") as handle:
                kept = list(csv.reader(handle))[1:keep_rows + 1]
            if len(kept) < keep_rows:
                raise InputDataError(f"{self.path}: cannot resume: {len(kept)} rows, the checkpoint expects {keep_rows}")
        partial = self.path.with_name(self.path.name + ".partial")
        with partial.open("w", newline="") as handle:
            csv.writer(handle).writerows([self.header, *kept])
        replace_durably(partial, self.path)

    def append(self, phase: str, thermo: dict[str, float]) -> dict[str, float]:
        row = {name: float(thermo[key]) for name, key in _THERMO_COLUMNS}
        bad = [k for k, v in row.items() if not math.isfinite(v)]
        if bad:
            raise RunFailed(f"{self.path.parent.name} {phase}: non-finite {', '.join(bad)} at step "
                            f"{int(thermo['step'])} (unstable run?)")
        self.rows += 1
        if self.rank == 0:
            with self.path.open("a", newline="") as handle:
                csv.writer(handle).writerow([phase, int(row["step"]), *list(row.values())[1:]])
        return row


class TemperatureRun:
    """Runs (or continues) the phases of one temperature on ``comm``; every rank calls :meth:`run`."""

    def __init__(self, config: DiffusionConfig, atoms: Atoms, temperature_K: float, folder: Path, comm,
                 potential: Potential, seed: int):
        self.config, self.atoms, self.temperature_K = config, atoms, temperature_K
        self.folder, self.comm, self.potential, self.seed = Path(folder), comm, potential, seed
        self.rank = comm.Get_rank() if comm is not None else 0
        self.phases = plan_phases(config, temperature_K)
        self.recorded = recorded_atoms(config, atoms)
        self.species = potential.elements or tuple(sorted(set(atoms.get_chemical_symbols())))
        self.checkpoints: list[Path] = []

    def run(self, state: MdState | None, physics: dict) -> Path:
        """Run from the start (``state`` None) or continue from ``state``; returns the trajectory path."""
        fresh = state is None
        if fresh:
            state = MdState(hashlib.sha256(json.dumps(physics, sort_keys=True).encode()).hexdigest())
            if self.rank == 0:
                shutil.rmtree(self.folder / CHECKPOINT_DIR, ignore_errors=True)
                (self.folder / TRAJECTORY_FILE).unlink(missing_ok=True)  # an earlier run's frames are not this run's
                (self.folder / CHECKPOINT_DIR).mkdir(parents=True)
                atomic_write_text(self.folder / CHECKPOINT_DIR / "fingerprint.json",
                                  json.dumps(physics, indent=2) + "\n")
        self.state = state
        state.attempts.append({"started": _now(), "resumed_from_step": None if fresh else state.step})
        log_name = LAMMPS_LOG if fresh else f"lammps.resume{len(state.attempts) - 1}.log"
        record = RunRecord(
            "diffusion", self.folder, self.config, rank=self.rank,
            mpi_size=self.comm.Get_size() if self.comm is not None else 1,
            seeds={"velocities": self.seed}, potentials=[self.potential],
            inputs=[self.config.structure.file] if self.config.structure.file else [],
        )
        record.add_result("temperature_K", self.temperature_K)
        record.add_result("phases", [asdict(p) for p in self.phases])
        record.add_result("recorded_atoms", int(self.recorded.sum()))
        trajectory = self.folder / TRAJECTORY_FILE
        with record, LammpsSession(self.comm, log_path=self.folder / log_name) as session:
            self.session = session
            self._load(fresh)
            self.thermo = ThermoLog(self.folder / THERMO_CSV, self.rank, None if fresh else state.thermo_rows)
            first = 0 if fresh else state.phase + int(state.phase_complete)
            self.writer = None
            try:
                for index in range(first, len(self.phases)):
                    inside = not fresh and index == state.phase and not state.phase_complete
                    self._phase(index, inside, trajectory, record.data)
            except BaseException as exc:
                if self.writer is not None and not (isinstance(exc, LammpsError) and exc.fatal):
                    self.writer.close()
                raise
            if self.writer is not None:
                self.writer.close()
            final = session.to_atoms()
            if self.rank == 0:
                final.write(self.folder / FINAL_STRUCTURE, format="extxyz", parallel=False)
            state.finished = True
            state.attempts[-1]["finished"] = _now()
            state.save(self.folder, self.rank)
            for name, path in (("thermo", THERMO_CSV), ("trajectory", TRAJECTORY_FILE), ("lammps_log", log_name),
                               ("final_structure", FINAL_STRUCTURE), ("checkpoints", CHECKPOINT_DIR)):
                record.add_output(name, self.folder / path)
            record.add_result("attempts", state.attempts)
            record.add_result("production_volume_A3", float(abs(np.linalg.det(final.cell))))
        return trajectory

    def _load(self, fresh: bool) -> None:
        session = self.session
        if fresh:
            session.create_system(self.atoms, self.species, label="diffusion structure")
        else:
            restart = self.folder / CHECKPOINT_DIR / self.state.restart_file
            read_checkpoint(session, restart, self.species, lammps_box(self.atoms))
            self.checkpoints = [restart]
            log.info("%g K: continuing from step %d (%s)", self.temperature_K, self.state.step,
                     self.phases[self.state.phase].name)
        session.set_potential(self.potential)
        dynamics.set_timestep(session, self.config.timestep_fs)
        if fresh:
            dynamics.create_velocities(session, self.config.equilibration.start_K, self.seed)

    def _phase(self, index: int, inside: bool, trajectory: Path, provenance: dict) -> None:
        phase, session, eq = self.phases[index], self.session, self.config.equilibration
        log.info("%g K: %s, steps %d-%d%s", self.temperature_K, phase.name, phase.begin, phase.end,
                 " (continued)" if inside else "")
        production = phase.name == "production"
        if production:
            if not inside and eq.pressure_bar is not None:
                if self.state.hold_volume_rows == 0:
                    raise RunFailed(f"{self.folder}: no hold volume recorded to scale production to")
                scale_to_volume(session, self.state.hold_volume_sum_A3 / self.state.hold_volume_rows)
            self.writer = H5mdWriter(
                trajectory, self.comm, mode="resume" if inside else "create",
                resume_after_step=self.state.step if inside else None, provenance=provenance,
            )
            if not inside:
                self._frame()
        average_from = phase.end - round(eq.volume_average_fraction * (phase.end - phase.begin))
        prod = self.config.production

        def on_stop(step: int) -> bool:
            offset, at_end = step - phase.begin, step == phase.end
            if at_end or offset % phase.thermo_every == 0:
                row = self.thermo.append(phase.name, session.thermo())
                if phase.name == "hold" and step > average_from:
                    self.state.hold_volume_sum_A3 += row["volume_A3"]
                    self.state.hold_volume_rows += 1
            if production and offset % prod.trajectory_every == 0:
                self._frame()
            every = self.config.checkpoint_every
            if every and offset % every == 0 and not at_end:
                self._checkpoint(index, complete=False)
                return True  # writing a restart file re-initialises LAMMPS
            return False

        fixes = self._fixes(phase, index)
        cadences = [phase.thermo_every, prod.trajectory_every if production else None, self.config.checkpoint_every]
        run_span(session, begin=phase.begin, end=phase.end, cadences=cadences, on_stop=on_stop)
        thermostats.remove_fixes(session, fixes)
        self._checkpoint(index, complete=True)

    def _fixes(self, phase: Phase, index: int) -> list[str]:
        eq, prod = self.config.equilibration, self.config.production
        if phase.constant_pressure:
            return thermostats.add_barostat(self.session, MOTION_FIX, "all", phase.start_K, phase.stop_K,
                                            eq.damping_fs, eq.pressure_bar, eq.pressure_damping_fs)
        kind = prod.thermostat if phase.name == "production" else "nose-hoover"
        damping = prod.damping_fs if phase.name == "production" else eq.damping_fs
        # Langevin noise cannot be replayed after a restart: each attempt draws its own stream.
        seed = int(np.random.default_rng([self.seed, index, len(self.state.attempts)]).integers(1, 2**31 - 1))
        return thermostats.add_thermostat(self.session, MOTION_FIX, "all", kind, phase.start_K, phase.stop_K,
                                          damping, seed)

    def _frame(self) -> None:
        snapshot = take_snapshot(self.session)
        keep = self.recorded
        self.writer.append_frame(
            step=snapshot.step, time_ps=snapshot.time_ps, positions_A=snapshot.positions_A[keep],
            cell_A=snapshot.cell_A, numbers=snapshot.numbers[keep], pbc=snapshot.pbc, images=snapshot.images[keep],
        )

    def _checkpoint(self, index: int, *, complete: bool) -> None:
        step = self.session.step
        folder = self.folder / CHECKPOINT_DIR
        name = f"step{step:012d}-{self.phases[index].name}{'-done' if complete else ''}.restart"
        path = write_checkpoint(self.session, folder / name)
        state = self.state
        state.phase, state.step, state.phase_complete = index, step, complete
        state.restart_file, state.thermo_rows = name, self.thermo.rows
        state.save(self.folder, self.rank)
        self.checkpoints = (self.checkpoints + [path])[-_KEPT_CHECKPOINTS:]
        if self.rank == 0:
            remove_checkpoints(folder, keep=self.checkpoints)
