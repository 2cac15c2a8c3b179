"""One knock: an equilibrated cell, a border thermostat, a PKA set moving, MD until a time, samples on the way.

Shared by threshold-displacement scans and cascades. The equilibrated state
(positions, velocities, cell) is kept as a ``.npz`` so that every knock of a
study starts from the same atoms, on whichever process runs it.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from ase import Atoms

from simkit.errors import ConfigError, InputDataError
from simkit.lammps import collisions, dynamics
from simkit.lammps.potentials.base import Potential
from simkit.lammps.session import LammpsSession
from simkit.radiation.config import BorderSpec, EquilibrationSpec, PkaSpec, TimestepSpec, TtmSpec
from simkit.runtime.files import atomic_write_bytes
from simkit.runtime.mpi import rank_of
from simkit.units import PS_PER_FS, speed_A_per_ps, steps_for

_CHUNK_STEPS = 50
# The adaptive timestep can shrink to max_displacement / PKA speed; a run needing ten times the steps
# that would take at that smallest step all the way has gone wrong (an atom accelerating without bound).
_STEP_MARGIN = 10.0


def save_state(path: Path, atoms: Atoms) -> None:
    """Positions, velocities, cell, pbc and species of ``atoms``, written atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, numbers=atoms.numbers, positions=atoms.positions, velocities=atoms.get_velocities(),
             cell=np.asarray(atoms.cell), pbc=atoms.pbc)
    atomic_write_bytes(Path(path), buffer.getvalue())


def load_state(path: Path) -> Atoms:
    try:
        with np.load(path) as data:
            atoms = Atoms(numbers=data["numbers"], positions=data["positions"], cell=data["cell"], pbc=data["pbc"])
            atoms.set_velocities(data["velocities"])
    except (OSError, KeyError, ValueError) as exc:
        raise InputDataError(f"{path}: not a readable equilibrated state ({exc}); remove it to equilibrate again") from exc
    return atoms


def derived_seed(*key: int) -> int:
    """A seed drawn from ``key`` (the study's seed first, then what the seed is for), the same on every process."""
    return int(np.random.SeedSequence(list(key)).generate_state(1)[0])


def species_for(potential: Potential, atoms: Atoms) -> tuple[str, ...]:
    """LAMMPS type order: the potential's elements, else the structure's in alphabetical order."""
    return tuple(potential.elements or sorted(set(atoms.get_chemical_symbols())))


def pka_candidates(atoms: Atoms, spec: PkaSpec, key: str = "pka") -> np.ndarray:
    """Indices a PKA may be: the one given, or the atoms (of ``species``) by distance from the cell centre."""
    if spec.index is not None:
        if spec.index >= len(atoms):
            raise ConfigError(f"{key}.index = {spec.index}: the structure has {len(atoms)} atoms (0-{len(atoms) - 1})")
        return np.array([spec.index])
    candidates = np.arange(len(atoms))
    if spec.species is not None:
        candidates = candidates[np.array(atoms.get_chemical_symbols()) == spec.species]
        if len(candidates) == 0:
            present = sorted(set(atoms.get_chemical_symbols()))
            raise ConfigError(f"{key}.species = {spec.species!r}: no such atom in the structure ({', '.join(present)})")
    centre = np.asarray(atoms.cell).sum(axis=0) / 2.0
    return candidates[np.argsort(np.linalg.norm(atoms.positions[candidates] - centre, axis=1), kind="stable")]


def choose_pka(atoms: Atoms, spec: PkaSpec, key: str = "pka") -> int:
    """The PKA's index: as given, or the atom (of ``species``) nearest the centre of the cell."""
    return int(pka_candidates(atoms, spec, key)[0])


def equilibrate(atoms: Atoms, potential: Potential, species: Sequence[str], temperature_K: float,
                spec: EquilibrationSpec, seed: int, *, comm=None, log_path: Path | None = None) -> Atoms:
    """NPT at ``temperature_K`` from Gaussian velocities; the equilibrated atoms with their velocities."""
    with LammpsSession(comm, log_path=log_path) as session:
        session.create_system(atoms, species)
        session.set_potential(potential)
        dynamics.set_timestep(session, spec.timestep_fs)
        dynamics.create_velocities(session, temperature_K, seed)
        steps = steps_for(spec.duration_ps, spec.timestep_fs, at_least=0)
        if steps:
            couple = "iso" if all(session.box.pbc) else "aniso"
            dynamics.add_npt(session, "simkit_equilibrate", temperature_K, temperature_K, spec.thermostat_damping_fs,
                             spec.pressure_bar, spec.barostat_damping_fs, couple=couple)
            session.run(steps)
        return session.to_atoms()


@dataclass(frozen=True)
class Knock:
    index: int
    direction: np.ndarray  # any length > 0, ASE frame
    energy_eV: float
    mass_amu: float


@dataclass(frozen=True)
class KnockSettings:
    temperature_K: float
    duration_ps: float
    border: BorderSpec
    timestep: TimestepSpec
    seed: int
    stopping_table: Path | None = None
    stopping_min_energy_eV: float = 10.0
    ttm: TtmSpec | None = None


@dataclass(frozen=True)
class KnockOutcome:
    time_ps: float
    steps: int
    border_atoms: int
    electronic_loss_eV: float


def run_knock(session: LammpsSession, state: Atoms, potential: Potential, species: Sequence[str], knock: Knock,
              settings: KnockSettings, *, sample_every_ps: float | None = None,
              on_sample: Callable[[float], None] | None = None,
              losses: ElectronicLoss | None = None) -> KnockOutcome:
    """Load ``state`` into ``session``, knock, and run for ``settings.duration_ps``.

    ``losses`` measures the energy lost to electrons (give one to read it inside ``on_sample`` too).

    ``on_sample(time_ps)`` runs (on every rank) at the start and whenever another
    ``sample_every_ps`` of simulated time has passed, and at the end.
    """
    losses = losses if losses is not None else ElectronicLoss(settings)
    session.create_system(state, species, orthogonal=True)  # fix ttm refuses a triclinic box
    session.set_potential(potential)
    dynamics.set_timestep(session, settings.timestep.max_fs)
    dynamics.add_nve(session, "simkit_knock_nve")
    border_atoms = collisions.define_border(session, settings.border.width_A)
    collisions.add_border_thermostat(session, settings.border.thermostat, settings.temperature_K,
                                     settings.border.damping_fs, settings.seed)
    collisions.add_adaptive_timestep(session, settings.timestep.max_fs, settings.timestep.max_displacement_A)
    if settings.stopping_table is not None:
        collisions.add_electronic_stopping(session, settings.stopping_table, settings.stopping_min_energy_eV)
    if settings.ttm is not None:
        ttm = settings.ttm
        collisions.add_two_temperature(
            session, seed=settings.seed + 1, specific_heat_eV_per_K=ttm.electronic_specific_heat_eV_per_K,
            electron_density_per_A3=ttm.electron_density_per_A3,
            conductivity_eV_per_ps_A_K=ttm.electronic_conductivity_eV_per_ps_A_K,
            coupling_amu_per_ps=ttm.electron_phonon_friction_amu_per_ps,
            stopping_amu_per_ps=ttm.electronic_stopping_friction_amu_per_ps,
            stopping_velocity_A_per_ps=ttm.stopping_velocity_A_per_ps, grid=ttm.grid,
            electron_temperature_K=ttm.initial_electron_temperature_K or settings.temperature_K)
    collisions.kick(session, knock.index, knock.direction, knock.energy_eV, knock.mass_amu)

    speed = speed_A_per_ps(knock.energy_eV, knock.mass_amu)
    smallest_step_ps = min(settings.timestep.max_fs * PS_PER_FS, settings.timestep.max_displacement_A / speed)
    max_steps = int(math.ceil(_STEP_MARGIN * settings.duration_ps / smallest_step_ps)) + _CHUNK_STEPS
    _, start_ps = session.time_ps()
    start_step = session.step
    sampled = {"next": start_ps, "last": None}

    def sample(now_ps: float) -> None:
        if on_sample is None or now_ps < sampled["next"] - 1e-12:
            return
        on_sample(now_ps - start_ps)
        sampled["last"] = now_ps
        every = sample_every_ps or settings.duration_ps
        sampled["next"] = start_ps + every * (math.floor((now_ps - start_ps) / every + 1e-9) + 1)

    session.run(0)
    losses.start(session)
    sample(start_ps)
    end = collisions.run_until(session, start_ps + settings.duration_ps, chunk_steps=_CHUNK_STEPS,
                               max_steps=max_steps, on_chunk=sample)
    if on_sample is not None and sampled["last"] != end:
        on_sample(end - start_ps)
    return KnockOutcome(time_ps=end - start_ps, steps=session.step - start_step, border_atoms=border_atoms,
                        electronic_loss_eV=losses(session))


class ElectronicLoss:
    """Energy the atoms have lost to electrons since the knock: removed by stopping friction, or (the
    two-temperature model) the rise of the electrons' heat. Calls are collective (every rank)."""

    def __init__(self, settings: KnockSettings):
        self.settings = settings
        self._electrons_at_knock_eV = 0.0

    def start(self, session: LammpsSession) -> None:
        if self.settings.ttm is not None:
            self._electrons_at_knock_eV = collisions.electron_energy_eV(session)

    def __call__(self, session: LammpsSession) -> float:
        if self.settings.stopping_table is not None:
            return collisions.electronic_loss_eV(session)
        if self.settings.ttm is not None:
            return collisions.electron_energy_eV(session) - self._electrons_at_knock_eV
        return 0.0


def equilibrate_task(task, comm) -> dict:
    """A study's equilibration as a task: payload (potential spec, atoms, species, temperature_K,
    EquilibrationSpec, seed, state path); the state is written by rank 0."""
    potential_spec, atoms, species, temperature_K, spec, seed, path = task.payload
    state = equilibrate(atoms, potential_spec.build(), species, temperature_K, spec, seed, comm=comm)
    if rank_of(comm) == 0:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        save_state(Path(path), state)
    return {"state": str(path), "volume_A3": float(state.get_volume()), "temperature_K": temperature_K}
