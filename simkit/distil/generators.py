"""Structure generators for distillation datasets, one small model per kind.

Each generator makes structures from the base crystal and is labelled with its
``config_type`` (default: its kind), so weights, stratified splits and
per-type errors downstream know what each frame is. A ``trajectory`` labels
each snapshot with the phase of the segment it was taken in instead.

``split: benchmark`` sends a generator's frames to the held-out benchmark file
instead of the training set (e.g. one melt-quench trajectory from the crystal,
snapshots every few ps, as a test of every phase the potential will meet).
MD generators may set ``density_g_per_cm3``: the cell is scaled to it before
the run (liquids and glasses of a material whose model has no stable
zero-pressure liquid are run at a fixed, stated density). An MD generator with
a ``sampler`` runs its MD with that potential (a student) and the teacher
labels the frames; with ``min_disagreement_meV_per_atom`` only the frames the
student gets wrong by at least that much are kept (one round of active learning).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import numpy as np
from ase import Atoms
from pydantic import Field, model_validator

from simkit.config.schema import Schema
from simkit.distil.teachers import Teacher
from simkit.lammps.potentials.specs import PotentialSpec
from simkit.units import duration_ps_of_ramp, volume_A3_for_density

Repeat = tuple[int, int, int]



# Structures per generator: a million teacher labels is past any dataset this distils; more is a typo.
MAX_COUNT = 10**6

class _Generator(Schema):
    config_type: str | None = Field(default=None, description="label of the frames (default: the kind)")
    repeat: Repeat = Field(default=(1, 1, 1), description="supercell of the base structure")
    split: Literal["train", "benchmark"] = Field(
        default="train", description="benchmark: frames go to the held-out benchmark file, never into training")

    @model_validator(mode="after")
    def _positive_repeat(self):
        if min(self.repeat) < 1:
            raise ValueError(f"repeat must be positive integers, got {list(self.repeat)}")
        return self

    @property
    def label(self) -> str:
        return self.config_type or self.kind

    def cost(self, base_atoms: int) -> float:
        """Rough cost, to balance generators over ranks: atoms made (static structures)."""
        return float(base_atoms * int(np.prod(self.repeat)) * self.count)  # every static generator has a count


class RattledGen(_Generator):
    """Crystal with Gaussian displacements."""

    kind: Literal["rattled"]
    count: int = Field(gt=0, le=MAX_COUNT)
    rattle_A: float = Field(default=0.05, gt=0)


class StrainedGen(_Generator):
    """Random symmetric strains up to ``max_strain``, then a small rattle."""

    kind: Literal["strained"]
    count: int = Field(gt=0, le=MAX_COUNT)
    max_strain: float = Field(default=0.05, gt=0, lt=0.5)
    rattle_A: float = Field(default=0.02, ge=0)


class VacancyGen(_Generator):
    """Crystal with ``vacancies`` random atoms removed, rattled."""

    kind: Literal["vacancies"]
    count: int = Field(gt=0, le=MAX_COUNT)
    vacancies: int = Field(default=1, gt=0)
    rattle_A: float = Field(default=0.03, ge=0)


class SurfaceGen(_Generator):
    """Slab: the supercell with ``vacuum_A`` of vacuum added along one cell vector, rattled."""

    kind: Literal["surface"]
    count: int = Field(gt=0, le=MAX_COUNT)
    axis: Literal[0, 1, 2] = 2
    vacuum_A: float = Field(default=10.0, gt=0)
    rattle_A: float = Field(default=0.03, ge=0)


class _MdGenerator(_Generator):
    timestep_fs: float = Field(default=1.0, gt=0)
    density_g_per_cm3: float | None = Field(
        default=None, gt=0, description="scale the cell to this mass density before the run (default: as built)")
    sampler: PotentialSpec | None = Field(
        default=None, description="run the MD with this potential instead of the teacher (a student, to find the "
        "configurations it gets wrong: active learning); the teacher still labels every frame")
    min_disagreement_meV_per_atom: float | None = Field(
        default=None, gt=0, description="with a sampler: keep only frames where |E_sampler - E_teacher| per atom "
        "is at least this")

    @model_validator(mode="after")
    def _selection_needs_sampler(self):
        if self.min_disagreement_meV_per_atom is not None and self.sampler is None:
            raise ValueError("min_disagreement_meV_per_atom compares a sampler with the teacher: give 'sampler'")
        return self

    @property
    def md_duration_ps(self) -> float:
        raise NotImplementedError

    def cost(self, base_atoms: int) -> float:
        """Rough cost in atom-steps."""
        return base_atoms * int(np.prod(self.repeat)) * self.md_duration_ps * 1e3 / self.timestep_fs


class MdGen(_MdGenerator):
    """NVT snapshots at each temperature, from the solid up to the liquid."""

    kind: Literal["md"]
    temperatures_K: list[float] = Field(min_length=1)
    snapshots_per_temperature: int = Field(gt=0)
    equilibration_ps: float = Field(default=0.5, ge=0)
    interval_ps: float = Field(default=0.1, gt=0)

    @model_validator(mode="after")
    def _positive_temperatures(self):
        if min(self.temperatures_K) <= 0:
            raise ValueError(f"temperatures_K must be positive, got {self.temperatures_K}")
        return self

    @property
    def md_duration_ps(self) -> float:
        return len(self.temperatures_K) * (self.equilibration_ps + self.snapshots_per_temperature * self.interval_ps)


class AmorphousGen(_MdGenerator):
    """Melt at ``melt_K``, quench linearly to ``final_K`` (over ``quench_ps`` or at
    ``quench_rate_K_per_s``); snapshots of the glass."""

    kind: Literal["amorphous"]
    count: int = Field(gt=0, le=MAX_COUNT, description="snapshots taken during the final hold")
    melt_K: float = Field(gt=0)
    melt_ps: float = Field(default=2.0, gt=0)
    quench_ps: float | None = Field(default=None, gt=0, description="default 5 ps unless a rate is given")
    quench_rate_K_per_s: float | None = Field(default=None, gt=0)
    final_K: float = Field(default=300.0, gt=0)
    hold_ps: float = Field(default=0.5, gt=0)

    @model_validator(mode="after")
    def _one_quench(self):
        if self.quench_ps is not None and self.quench_rate_K_per_s is not None:
            raise ValueError("give quench_ps or quench_rate_K_per_s, not both")
        if self.final_K >= self.melt_K:
            raise ValueError(f"final_K = {self.final_K} must be below melt_K = {self.melt_K}")
        return self

    @property
    def quench_duration_ps(self) -> float:
        if self.quench_rate_K_per_s is None:
            return self.quench_ps or 5.0
        return duration_ps_of_ramp(self.melt_K, self.final_K, self.quench_rate_K_per_s)

    @property
    def md_duration_ps(self) -> float:
        return self.melt_ps + self.quench_duration_ps + self.hold_ps


class InterfaceGen(_MdGenerator):
    """Crystal-amorphous interfaces: the atoms above ``melt_fraction`` of the cell along
    ``axis`` are melted and quenched while the others are held in place; snapshots of the
    whole cell during a final hold with every atom moving."""

    kind: Literal["interface"]
    count: int = Field(gt=0, le=MAX_COUNT)
    axis: Literal[0, 1, 2] = 2
    melt_fraction: float = Field(default=0.5, gt=0, lt=1, description="share of the cell (along axis) melted")
    melt_K: float = Field(gt=0)
    melt_ps: float = Field(default=2.0, gt=0)
    quench_ps: float = Field(default=5.0, gt=0)
    final_K: float = Field(default=300.0, gt=0)
    hold_ps: float = Field(default=0.5, gt=0)

    @property
    def md_duration_ps(self) -> float:
        return self.melt_ps + self.quench_ps + self.hold_ps


class Segment(Schema):
    """One stretch of a trajectory: a linear temperature ramp (or hold) with its phase label."""

    phase: str = Field(min_length=1, description="config_type of the snapshots taken in this segment")
    start_K: float = Field(gt=0)
    end_K: float | None = Field(default=None, gt=0, description="default: start_K (a hold)")
    duration_ps: float = Field(gt=0)
    snapshots: bool = Field(default=True, description="False: run the segment without taking snapshots")


class TrajectoryGen(_MdGenerator):
    """One continuous NVT trajectory through ``segments``, a snapshot every ``interval_ps``,
    each labelled with its segment's phase (e.g. crystal -> liquid -> quench -> amorphous)."""

    kind: Literal["trajectory"]
    segments: list[Segment] = Field(min_length=1)
    interval_ps: float = Field(gt=0)

    @property
    def md_duration_ps(self) -> float:
        return sum(s.duration_ps for s in self.segments)


Generator = Annotated[
    Union[RattledGen, StrainedGen, VacancyGen, SurfaceGen, MdGen, AmorphousGen, InterfaceGen, TrajectoryGen],
    Field(discriminator="kind")
]


def _rattle(atoms: Atoms, rattle_A: float, rng: np.random.Generator) -> Atoms:
    if rattle_A > 0:
        atoms.positions += rng.normal(0.0, rattle_A, size=atoms.positions.shape)
    return atoms


def _at_density(atoms: Atoms, density_g_per_cm3: float | None) -> Atoms:
    """``atoms`` scaled uniformly to the given mass density (unchanged for None)."""
    if density_g_per_cm3 is None:
        return atoms
    volume_A3 = volume_A3_for_density(atoms.get_masses().sum(), density_g_per_cm3)
    scaled = atoms.copy()
    scaled.set_cell(np.asarray(atoms.cell) * (volume_A3 / atoms.get_volume()) ** (1.0 / 3.0), scale_atoms=True)
    return scaled


def _sample_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(1, 2**31 - 1))


def base_problem(gen, base: Atoms) -> str | None:
    """Why ``gen`` cannot start from ``base``; None when it can. Strains, slabs, melts and interfaces are
    made of a bulk cell, and a repeat or a density needs the cell vectors it acts on."""
    bulk = all(base.pbc)
    pbc = " ".join("T" if p else "F" for p in base.pbc)
    if not bulk and isinstance(gen, (StrainedGen, SurfaceGen, AmorphousGen, InterfaceGen)):
        return f"a {gen.kind} generator needs a bulk cell periodic along a, b and c; the structure has pbc=\"{pbc}\""
    open_axes = [axis for axis in range(3) if gen.repeat[axis] > 1 and not base.pbc[axis]]
    if open_axes:
        return (f"repeat {list(gen.repeat)} repeats along {', '.join('abc'[a] for a in open_axes)}, which the "
                f"structure has no periodic direction along (pbc=\"{pbc}\")")
    if isinstance(gen, _MdGenerator) and gen.density_g_per_cm3 is not None and not bulk:
        return f"density_g_per_cm3 scales the cell's volume; the structure has pbc=\"{pbc}\" (no bulk cell)"
    return None


def generate(gen, base: Atoms, teacher: Teacher, rng: np.random.Generator) -> list[tuple[Atoms, dict]]:
    """Structures of one generator with per-frame info (the MD temperature; a
    ``config_type`` where it differs from the generator's label)."""
    cell = base.repeat(gen.repeat)
    if isinstance(gen, _MdGenerator):
        cell = _at_density(cell, gen.density_g_per_cm3)
    out: list[tuple[Atoms, dict]] = []
    if isinstance(gen, RattledGen):
        out = [(_rattle(cell.copy(), gen.rattle_A, rng), {}) for _ in range(gen.count)]
    elif isinstance(gen, StrainedGen):
        for _ in range(gen.count):
            atoms = cell.copy()
            e = rng.uniform(-gen.max_strain, gen.max_strain, size=(3, 3))
            atoms.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + 0.5 * (e + e.T)), scale_atoms=True)
            out.append((_rattle(atoms, gen.rattle_A, rng), {}))
    elif isinstance(gen, VacancyGen):
        if gen.vacancies >= len(cell):
            raise ValueError(f"cannot remove {gen.vacancies} atoms from a {len(cell)}-atom cell")
        for _ in range(gen.count):
            atoms = cell.copy()
            del atoms[sorted(rng.choice(len(atoms), size=gen.vacancies, replace=False).tolist())]
            out.append((_rattle(atoms, gen.rattle_A, rng), {}))
    elif isinstance(gen, SurfaceGen):
        for _ in range(gen.count):
            atoms = cell.copy()
            atoms.center(vacuum=gen.vacuum_A / 2, axis=gen.axis)
            out.append((_rattle(atoms, gen.rattle_A, rng), {}))
    elif isinstance(gen, MdGen):
        for temperature in gen.temperatures_K:
            schedule = []
            if gen.equilibration_ps > 0:
                schedule.append((temperature, temperature, gen.equilibration_ps))
            hold = gen.snapshots_per_temperature * gen.interval_ps
            schedule.append((temperature, temperature, hold))
            snaps = teacher.sample(cell, schedule, gen.interval_ps, gen.timestep_fs, _sample_seed(rng))
            out += [(snap.atoms, {"temperature_K": snap.temperature_K}) for snap in snaps[-gen.snapshots_per_temperature:]]
    elif isinstance(gen, AmorphousGen):
        interval = gen.hold_ps / gen.count
        schedule = [
            (gen.melt_K, gen.melt_K, gen.melt_ps),
            (gen.melt_K, gen.final_K, gen.quench_duration_ps),
            (gen.final_K, gen.final_K, gen.hold_ps),
        ]
        snaps = teacher.sample(cell, schedule, interval, gen.timestep_fs, _sample_seed(rng))
        out = [(snap.atoms, {"temperature_K": snap.temperature_K}) for snap in snaps[-gen.count:]]
    elif isinstance(gen, InterfaceGen):
        out = _interface(gen, cell, teacher, rng)
    elif isinstance(gen, TrajectoryGen):
        out = _trajectory(gen, cell, teacher, rng)
    else:  # pragma: no cover - the schema admits no other kind
        raise TypeError(f"unknown generator {gen!r}")
    return out


def _interface(gen: InterfaceGen, cell: Atoms, teacher: Teacher, rng: np.random.Generator) -> list[tuple[Atoms, dict]]:
    fractional = cell.get_scaled_positions(wrap=True)[:, gen.axis]
    held = fractional < 1.0 - gen.melt_fraction
    melt = [(gen.melt_K, gen.melt_K, gen.melt_ps), (gen.melt_K, gen.final_K, gen.quench_ps)]
    quenched = teacher.sample(cell, melt, gen.quench_ps, gen.timestep_fs, _sample_seed(rng), held=held)[-1].atoms
    interval = gen.hold_ps / gen.count
    hold = [(gen.final_K, gen.final_K, gen.hold_ps)]
    snaps = teacher.sample(quenched, hold, interval, gen.timestep_fs, _sample_seed(rng))
    return [(snap.atoms, {"temperature_K": snap.temperature_K}) for snap in snaps[-gen.count:]]


def _trajectory(gen: TrajectoryGen, cell: Atoms, teacher: Teacher, rng: np.random.Generator) -> list[tuple[Atoms, dict]]:
    schedule = [(s.start_K, s.end_K or s.start_K, s.duration_ps) for s in gen.segments]
    snaps = teacher.sample(cell, schedule, gen.interval_ps, gen.timestep_fs, _sample_seed(rng))
    return [(snap.atoms, {"temperature_K": snap.temperature_K, "config_type": gen.segments[snap.segment].phase})
            for snap in snaps if gen.segments[snap.segment].snapshots]
