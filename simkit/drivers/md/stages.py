"""The stages of an MD protocol: a tagged union on ``stage``, each kind owning its fields.

Units are in the key names and checked on load. Durations are given as
``duration_ps`` or ``duration_ns``; ramps by ``rate_K_per_s`` (a magnitude,
the sign follows start -> end) or by a duration; energies as ``energy_pJ`` or
``energy_eV``. Exactly one of each pair. ``region`` names a region of the
protocol (or of the device: ``frozen``, ``heater``, ``cell``); frozen atoms
never move whatever the stage.

Every timed stage may override the protocol's ``timestep_fs``,
``thermo_every``, ``trajectory_every`` and ``record``.

``rescale_volume`` takes no time: it scales the cell and the positions
isotropically (velocities kept) to the mean volume of an earlier
constant-pressure stage, e.g. before constant-volume production::

    - {stage: npt, name: hold, duration_ps: 20, temperature_K: 1500}
    - {stage: rescale_volume, average_of: hold, last_fraction: 0.5}
    - {stage: nvt, name: production, duration_ps: 100, temperature_K: 1500}

``average_of`` is the stage's ``name`` (or default label, e.g. ``1-npt``);
``last_fraction`` the final part of it whose thermo rows (``volume_A3`` in
``thermo.csv``) are averaged. The volume used is in the segment's record.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field, model_validator

from simkit.config.schema import Schema
from simkit.units import ns_to_ps, pj_to_ev, rate_K_per_s_to_K_per_ps

# Bounds far past any run, so that a slip of the exponent is refused by name, not met by an overflow
# of LAMMPS's 64-bit step counter or a run that never ends: 1 ms of MD, and 1e15 steps between records.
MAX_DURATION_PS = 1.0e9
MAX_EVERY_STEPS = 10**15

PerAtomRecord = Literal["velocities", "forces", "crystalline", "solid_bonds", "potential_energy"]
ThermostatKind = Literal["nose-hoover", "langevin"]


def _exactly_one(stage: Schema, names: tuple[str, ...]) -> None:
    given = [n for n in names if getattr(stage, n) is not None]
    if len(given) != 1:
        shown = " or ".join(names)
        raise ValueError(f"give exactly one of {shown}" + (f" (got {', '.join(given)})" if given else ""))


class _Stage(Schema):
    name: str | None = Field(default=None, description="label in outputs (default: the stage kind and index)")


class VelocityStage(_Stage):
    """Draw Gaussian velocities at a temperature (zero net momentum) for the dynamic atoms or a region."""

    stage: Literal["velocity"]
    temperature_K: float = Field(gt=0)
    region: str | None = None


class MinimiseStage(_Stage):
    """Conjugate-gradient energy minimisation, optionally relaxing the cell."""

    stage: Literal["minimise"]
    force_tolerance_eV_per_A: float = Field(default=1e-3, gt=0)
    max_iterations: int = Field(default=1000, gt=0)
    relax_box_bar: float | None = Field(default=None, description="relax the cell to this pressure (bar)")


class _TimedStage(_Stage):
    duration_ps: float | None = Field(default=None, gt=0, le=MAX_DURATION_PS)
    duration_ns: float | None = Field(default=None, gt=0, le=MAX_DURATION_PS / 1000.0)
    timestep_fs: float | None = Field(default=None, gt=0, description="overrides the protocol's timestep")
    thermo_every: int | None = Field(default=None, gt=0, le=MAX_EVERY_STEPS, description="steps between thermo records")
    trajectory_every: int | None = Field(default=None, ge=0, le=MAX_EVERY_STEPS,
                                         description="steps between frames (0: none)")
    record: list[PerAtomRecord] | None = Field(default=None, description="per-atom arrays in frames")

    # Stages whose duration may come from elsewhere (a ramp rate) turn this off.
    duration_required: ClassVar[bool] = True

    @model_validator(mode="after")
    def _one_duration(self):
        if self.duration_required:
            _exactly_one(self, ("duration_ps", "duration_ns"))
        return self

    def time_ps(self) -> float:
        """Length of the stage in ps."""
        return self.duration_ps if self.duration_ps is not None else ns_to_ps(self.duration_ns)


class _Thermostatted(_TimedStage):
    thermostat: ThermostatKind = "nose-hoover"
    damping_fs: float = Field(default=100.0, gt=0)
    region: str | None = Field(default=None, description="thermostat only this region (others: NVE)")


class _Pressure(Schema):
    pressure_bar: float | None = Field(default=None, description="constant pressure (NPT) instead of NVT")
    pressure_damping_fs: float = Field(default=1000.0, gt=0)
    couple: Literal["iso", "aniso", "tri"] = "iso"

    @model_validator(mode="after")
    def _npt_is_global(self):
        if self.pressure_bar is not None and (self.region is not None or self.thermostat != "nose-hoover"):
            raise ValueError("constant pressure needs thermostat: nose-hoover and no region")
        return self


class NvtStage(_Thermostatted):
    """Constant temperature ``temperature_K``, ramped linearly to ``end_temperature_K`` if given."""

    stage: Literal["nvt"]
    temperature_K: float = Field(gt=0)
    end_temperature_K: float | None = Field(default=None, gt=0)


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


class RampStage(_Thermostatted, _Pressure):
    """Temperature ramp from ``start_K`` to ``end_K``, by ``rate_K_per_s`` or by a duration."""

    stage: Literal["ramp"]
    start_K: float = Field(gt=0)
    end_K: float = Field(gt=0)
    rate_K_per_s: float | None = Field(default=None, gt=0, description="magnitude; direction from start_K to end_K")

    duration_required: ClassVar[bool] = False

    @model_validator(mode="after")
    def _rate_or_duration(self):
        _exactly_one(self, ("rate_K_per_s", "duration_ps", "duration_ns"))
        if self.rate_K_per_s is not None and self.start_K == self.end_K:
            raise ValueError("a ramp by rate needs end_K different from start_K")
        return self

    def time_ps(self) -> float:
        if self.rate_K_per_s is not None:
            return abs(self.end_K - self.start_K) / rate_K_per_s_to_K_per_ps(self.rate_K_per_s)
        return super().time_ps()


class QuenchStage(RampStage):
    """A cooling ramp (``end_K`` below ``start_K``), typically by rate (10^11 to 10^14 K/s)."""

    stage: Literal["quench"]

    @model_validator(mode="after")
    def _cools(self):
        if self.end_K >= self.start_K:
            raise ValueError(f"a quench must cool: end_K ({self.end_K}) must be below start_K ({self.start_K})")
        return self


class AnnealStage(_Thermostatted, _Pressure):
    """Hold at ``temperature_K`` (NVT, or NPT with ``pressure_bar``), e.g. SET: 20 ns at 600 K."""

    stage: Literal["anneal"]
    temperature_K: float = Field(gt=0)


class _EnergyFlux(_TimedStage):
    region: str = Field(description="region receiving (or losing) the energy")
    energy_pJ: float | None = Field(default=None, gt=0)
    energy_eV: float | None = Field(default=None, gt=0)
    method: Literal["ehex", "heat"] = "ehex"
    tolerance: float = Field(default=0.01, gt=0, description="allowed |delivered/requested - 1| before a warning")

    @model_validator(mode="after")
    def _one_energy(self):
        _exactly_one(self, ("energy_pJ", "energy_eV"))
        return self

    def magnitude_eV(self) -> float:
        return self.energy_eV if self.energy_eV is not None else pj_to_ev(self.energy_pJ)


class HeatPulseStage(_EnergyFlux):
    """Inject ``energy`` into ``region`` at a constant rate over the duration (momentum conserved).

    All dynamic atoms evolve at constant energy meanwhile, so the energy
    delivered is measured and compared with the request.
    """

    stage: Literal["heat_pulse"]

    def signed_energy_eV(self) -> float:
        return self.magnitude_eV()


class RemoveHeatStage(_EnergyFlux):
    """Extract ``energy`` from ``region`` at a constant rate (a heat sink); the rest at constant energy."""

    stage: Literal["remove_heat"]

    def signed_energy_eV(self) -> float:
        return -self.magnitude_eV()


class CoolStage(_TimedStage):
    """Cool by thermostatting to ``target_K`` (from ``start_K`` if given, else at the target throughout)."""

    stage: Literal["cool"]
    target_K: float = Field(gt=0)
    start_K: float | None = Field(default=None, gt=0, description="ramp the target from here to target_K")
    thermostat: ThermostatKind = "langevin"
    damping_fs: float = Field(default=100.0, gt=0)
    region: str | None = Field(default=None, description="thermostat only this region (others: NVE)")


class AmorphiseStage(_Stage):
    """Melt-quench the atoms of ``region`` only (the rest held still), e.g. to make a heat barrier.

    The region's atoms are held at ``melt_K`` for the melt duration, then
    cooled to ``end_K`` at ``quench_rate_K_per_s`` (or over a quench duration).
    """

    stage: Literal["amorphise"]
    region: str
    melt_K: float = Field(gt=0)
    melt_ps: float = Field(gt=0, le=MAX_DURATION_PS)
    end_K: float = Field(gt=0)
    quench_rate_K_per_s: float | None = Field(default=None, gt=0)
    quench_ps: float | None = Field(default=None, gt=0, le=MAX_DURATION_PS)
    thermostat: ThermostatKind = "langevin"
    damping_fs: float = Field(default=100.0, gt=0)
    timestep_fs: float | None = Field(default=None, gt=0)
    thermo_every: int | None = Field(default=None, gt=0, le=MAX_EVERY_STEPS)
    trajectory_every: int | None = Field(default=None, ge=0, le=MAX_EVERY_STEPS)
    record: list[PerAtomRecord] | None = None

    @model_validator(mode="after")
    def _quench(self):
        _exactly_one(self, ("quench_rate_K_per_s", "quench_ps"))
        if self.end_K >= self.melt_K:
            raise ValueError(f"end_K ({self.end_K}) must be below melt_K ({self.melt_K})")
        return self

    def quench_time_ps(self) -> float:
        if self.quench_ps is not None:
            return self.quench_ps
        return (self.melt_K - self.end_K) / rate_K_per_s_to_K_per_ps(self.quench_rate_K_per_s)


class RescaleVolumeStage(_Stage):
    """Scale cell and positions isotropically to the mean volume of the last part of an earlier NPT stage."""

    stage: Literal["rescale_volume"]
    average_of: str = Field(description="name (or label) of an earlier constant-pressure stage")
    last_fraction: float = Field(default=0.5, gt=0, le=1, description="final part of that stage to average")


STAGE_KINDS = (
    VelocityStage, MinimiseStage, NvtStage, NptStage, NveStage, RampStage, QuenchStage, AnnealStage,
    HeatPulseStage, RemoveHeatStage, CoolStage, AmorphiseStage, RescaleVolumeStage,
)

Stage = Annotated[Union[STAGE_KINDS], Field(discriminator="stage")]
