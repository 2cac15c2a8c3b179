"""The ``simkit diffusion`` config: a structure, a potential, temperatures, the MD at each, the analysis.

Example (see ``inputs/diffusion_*.yaml``)::

    output_dir: runs/diffusion_cu
    seed: 7
    structure: {bulk: {element: Cu, crystal: fcc, a_A: 3.615, cubic: true}, repeat: [4, 4, 4]}
    potential: {kind: eam/alloy, file: lammps:Cu_zhou.eam.alloy}
    temperatures_K: [1600, 1900, 2200]
    mobile_species: [Cu]
    equilibration: {start_K: 300, ramp_ps: 10, hold_ps: 20, pressure_bar: 0}
    production: {duration_ps: 100, trajectory_every: 10}
    schedule: {kind: concurrent, groups: 3}
    conductivity: {charges_e: {Li: 1, P: 5, S: -2}}

At each temperature the system is heated from ``start_K`` (NPT ramp), held
(NPT), scaled to the mean volume of the last part of the hold, then run at
constant volume (NVT production) while frames of the mobile and charged
species are written to HDF5 (see :mod:`simkit.diffusion.protocol`).
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, field_validator, model_validator

from simkit.config.schema import PathIn, Schema
from simkit.diffusion.settings import AnalysisSettings
from simkit.lammps.potentials.specs import PotentialSpec
from simkit.structures.spec import StructureSpec
from simkit.units import ns_to_ps


class EquilibrationSpec(Schema):
    """Heating and volume equilibration before production, at every temperature.

    Velocities are drawn at ``start_K``, the thermostat target is ramped to the
    temperature over ``ramp_ps`` and held for ``hold_ps``; with ``pressure_bar``
    both run at constant pressure (NPT) and production uses the mean volume of
    the last ``volume_average_fraction`` of the hold; with ``pressure_bar: null``
    both run at the structure's volume (NVT).
    """

    start_K: float = Field(default=300.0, gt=0, description="temperature of the initial velocities (K)")
    ramp_ps: float = Field(default=10.0, ge=0, description="heating ramp from start_K (ps; 0: no ramp)")
    hold_ps: float = Field(default=20.0, gt=0, description="hold at the temperature (ps)")
    pressure_bar: float | None = Field(default=0.0, description="NPT pressure (bar); null: constant volume")
    volume_average_fraction: float = Field(
        default=0.5, gt=0, le=1, description="last part of the hold whose mean volume production uses"
    )
    damping_fs: float = Field(default=100.0, gt=0, description="thermostat damping time (fs)")
    pressure_damping_fs: float = Field(default=1000.0, gt=0, description="barostat damping time (fs)")
    thermo_every: int = Field(default=100, gt=0, description="steps between thermo records")


class ProductionSpec(Schema):
    """Constant-volume production run whose frames are analysed."""

    duration_ps: float | None = Field(default=None, gt=0)
    duration_ns: float | None = Field(default=None, gt=0)
    trajectory_every: int = Field(default=10, gt=0, description="steps between HDF5 frames")
    thermo_every: int = Field(default=100, gt=0, description="steps between thermo records")
    thermostat: Literal["nose-hoover", "langevin"] = Field(
        default="nose-hoover", description="Langevin friction slows diffusion; Nose-Hoover leaves it alone"
    )
    damping_fs: float = Field(default=100.0, gt=0, description="thermostat damping time (fs)")

    @model_validator(mode="after")
    def _one_duration(self) -> "ProductionSpec":
        if (self.duration_ps is None) == (self.duration_ns is None):
            raise ValueError("give exactly one of duration_ps or duration_ns")
        return self

    def time_ps(self) -> float:
        return self.duration_ps if self.duration_ps is not None else ns_to_ps(self.duration_ns)


class SequentialSchedule(Schema):
    """Temperatures one after another, each on every rank."""

    kind: Literal["sequential"]


class ConcurrentSchedule(Schema):
    """Temperatures at the same time: the ranks split into ``groups`` (rank % groups), each running its share."""

    kind: Literal["concurrent"]
    groups: int | None = Field(
        default=None, ge=1, description="rank groups (default: one per temperature, at most one per rank)"
    )


Schedule = Annotated[Union[SequentialSchedule, ConcurrentSchedule], Field(discriminator="kind")]


class ConductivitySpec(Schema):
    """Formal charges for the Nernst-Einstein conductivity and the charge (collective) diffusion."""

    charges_e: dict[str, float] = Field(
        min_length=1, description="charge per species in units of e; unlisted species count as 0 in the charge current"
    )
    haven_ratio: float = Field(default=1.0, gt=0, description="sigma = sigma_Nernst-Einstein / haven_ratio")


class DiffusionConfig(Schema):
    """A full ``simkit diffusion`` run."""

    output_dir: PathIn
    seed: int = Field(default=12345, ge=0)
    structure: StructureSpec
    potential: PotentialSpec
    temperatures_K: list[float] = Field(min_length=1)
    mobile_species: list[str] = Field(min_length=1, description="species whose diffusion is analysed")
    timestep_fs: float = Field(default=1.0, gt=0)
    checkpoint_every: int | None = Field(
        default=10000, gt=0, description="steps between restart files (a killed run resumes from the last one)"
    )
    equilibration: EquilibrationSpec = Field(default_factory=EquilibrationSpec)
    production: ProductionSpec
    schedule: Schedule = Field(default_factory=lambda: SequentialSchedule(kind="sequential"))
    conductivity: ConductivitySpec | None = None
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)

    @field_validator("temperatures_K")
    @classmethod
    def _distinct_positive(cls, value: list[float]) -> list[float]:
        if min(value) <= 0:
            raise ValueError("temperatures must be positive (K)")
        if len(set(value)) != len(value):
            raise ValueError("temperatures must be distinct")
        return value

    @field_validator("mobile_species")
    @classmethod
    def _distinct_species(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("mobile species must be distinct")
        return value

    @model_validator(mode="after")
    def _charges_cover_mobile(self) -> "DiffusionConfig":
        if self.conductivity is not None:
            missing = [s for s in self.mobile_species if s not in self.conductivity.charges_e]
            if missing:
                raise ValueError(f"conductivity.charges_e has no charge for mobile species {missing}")
        return self
