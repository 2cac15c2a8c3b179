"""Structure generators for distillation datasets, one small model per kind.

Each generator makes structures from the base crystal and is labelled with its
``config_type`` (default: its kind), so weights, stratified splits and
per-type errors downstream know what each frame is.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import numpy as np
from ase import Atoms
from pydantic import Field, model_validator

from simkit.config.schema import Schema
from simkit.distil.teachers import Teacher

Repeat = tuple[int, int, int]


class _Generator(Schema):
    config_type: str | None = Field(default=None, description="label of the frames (default: the kind)")
    repeat: Repeat = Field(default=(1, 1, 1), description="supercell of the base structure")

    @model_validator(mode="after")
    def _positive_repeat(self):
        if min(self.repeat) < 1:
            raise ValueError(f"repeat must be positive integers, got {list(self.repeat)}")
        return self

    @property
    def label(self) -> str:
        return self.config_type or self.kind


class RattledGen(_Generator):
    """Crystal with Gaussian displacements."""

    kind: Literal["rattled"]
    count: int = Field(gt=0)
    rattle_A: float = Field(default=0.05, gt=0)


class StrainedGen(_Generator):
    """Random symmetric strains up to ``max_strain``, then a small rattle."""

    kind: Literal["strained"]
    count: int = Field(gt=0)
    max_strain: float = Field(default=0.05, gt=0, lt=0.5)
    rattle_A: float = Field(default=0.02, ge=0)


class VacancyGen(_Generator):
    """Crystal with ``vacancies`` random atoms removed, rattled."""

    kind: Literal["vacancies"]
    count: int = Field(gt=0)
    vacancies: int = Field(default=1, gt=0)
    rattle_A: float = Field(default=0.03, ge=0)


class SurfaceGen(_Generator):
    """Slab: the supercell with ``vacuum_A`` of vacuum added along one cell vector, rattled."""

    kind: Literal["surface"]
    count: int = Field(gt=0)
    axis: Literal[0, 1, 2] = 2
    vacuum_A: float = Field(default=10.0, gt=0)
    rattle_A: float = Field(default=0.03, ge=0)


class MdGen(_Generator):
    """NVT snapshots at each temperature, from the solid up to the liquid."""

    kind: Literal["md"]
    temperatures_K: list[float] = Field(min_length=1)
    snapshots_per_temperature: int = Field(gt=0)
    equilibration_ps: float = Field(default=0.5, ge=0)
    interval_ps: float = Field(default=0.1, gt=0)
    timestep_fs: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _positive_temperatures(self):
        if min(self.temperatures_K) <= 0:
            raise ValueError(f"temperatures_K must be positive, got {self.temperatures_K}")
        return self


class AmorphousGen(_Generator):
    """Melt at ``melt_K``, quench linearly to ``final_K`` over ``quench_ps``; snapshots of the glass."""

    kind: Literal["amorphous"]
    count: int = Field(gt=0, description="snapshots taken during the final hold")
    melt_K: float = Field(gt=0)
    melt_ps: float = Field(default=2.0, gt=0)
    quench_ps: float = Field(default=5.0, gt=0)
    final_K: float = Field(default=300.0, gt=0)
    hold_ps: float = Field(default=0.5, gt=0)
    timestep_fs: float = Field(default=1.0, gt=0)


Generator = Annotated[
    Union[RattledGen, StrainedGen, VacancyGen, SurfaceGen, MdGen, AmorphousGen], Field(discriminator="kind")
]


def _rattle(atoms: Atoms, rattle_A: float, rng: np.random.Generator) -> Atoms:
    if rattle_A > 0:
        atoms.positions += rng.normal(0.0, rattle_A, size=atoms.positions.shape)
    return atoms


def generate(gen, base: Atoms, teacher: Teacher, rng: np.random.Generator) -> list[tuple[Atoms, dict]]:
    """Structures of one generator with per-frame info (e.g. the MD temperature)."""
    cell = base.repeat(gen.repeat)
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
            snaps = teacher.sample(cell, schedule, gen.interval_ps, gen.timestep_fs, int(rng.integers(1, 2**31 - 1)))
            out += [(atoms, {"temperature_K": T}) for atoms, T in snaps[-gen.snapshots_per_temperature:]]
    elif isinstance(gen, AmorphousGen):
        interval = gen.hold_ps / gen.count
        schedule = [
            (gen.melt_K, gen.melt_K, gen.melt_ps),
            (gen.melt_K, gen.final_K, gen.quench_ps),
            (gen.final_K, gen.final_K, gen.hold_ps),
        ]
        snaps = teacher.sample(cell, schedule, interval, gen.timestep_fs, int(rng.integers(1, 2**31 - 1)))
        out = [(atoms, {"temperature_K": T}) for atoms, T in snaps[-gen.count:]]
    else:  # pragma: no cover - the schema admits no other kind
        raise TypeError(f"unknown generator {gen!r}")
    return out
