"""What a survival screen runs and when a replica counts as failed (config data).

A replica is one MD run of one starting cell with its own velocity seed: optional
heating ramp to the target temperature, ``duration_ps`` at the target
(NVT, or NPT if asked), then an NVE segment of ``nve_duration_ps`` in which the
total-energy drift is checked. Every ``check_every_steps`` the monitored
quantities are compared with :class:`SurvivalThresholds`. Example::

    survival:
      temperatures_K: [1000, 1500, 2000]
      replicas: 4
      duration_ps: 10
      target_atoms: 1000
      ramp: {start_temperature_K: 300, duration_ps: 2}
      thresholds: {max_force_eV_per_A: 50, r_min_fraction: 0.7}
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from simkit.config.schema import Schema
from simkit.units import steps_for


class RampSettings(Schema):
    """Linear heating from ``start_temperature_K`` to the screen temperature (in the screen's ensemble)."""

    start_temperature_K: float = Field(default=300.0, gt=0)
    duration_ps: float = Field(gt=0)


class SurvivalThresholds(Schema):
    """Limits beyond which a replica has failed; the defaults suit condensed phases.

    ``r_min`` (the closest approach allowed) is ``r_min_fraction`` times a
    reference distance: ``reference_min_distance_A`` if given, otherwise the
    shortest interatomic distance in the reference structures handed to the
    screen (the training data for the optimiser, the starting cells otherwise).
    The coordination number counts neighbours within ``coordination_cutoff_A``
    (default: 1.3 x the median nearest-neighbour distance of the starting cell,
    capped at the potential's cutoff); its mean over the cell must stay inside
    ``coordination_ratio_range`` times its value at step 0.
    """

    max_force_eV_per_A: float = Field(default=50.0, gt=0)
    r_min_fraction: float = Field(default=0.7, gt=0, le=1)
    reference_min_distance_A: float | None = Field(default=None, gt=0)
    max_temperature_factor: float = Field(
        default=2.0, gt=1, description="fail when T exceeds this factor times the thermostat set point "
        "(raised to 1 + 6 sqrt(2/(3N)) for cells so small that thermal fluctuations reach it)"
    )
    nve_drift_eV_per_atom: float = Field(
        default=0.005, gt=0, description="largest |E_total(t) - E_total(0)| / N allowed in the NVE segment"
    )
    coordination_cutoff_A: float | None = Field(default=None, gt=0)
    max_gamma: float | None = Field(
        default=None, gt=1, description="fail a replica as 'extrapolation' when an atom's ACE extrapolation grade "
        "exceeds this (graded at every check; needs an ACE potential with an active set)")
    coordination_ratio_range: tuple[float, float] = (0.25, 2.5)
    density_ratio_range: tuple[float, float] = Field(
        default=(0.5, 2.0), description="allowed density / initial density (NPT only)"
    )

    @field_validator("coordination_ratio_range", "density_ratio_range")
    @classmethod
    def _ordered_range(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0 <= low < 1 < high:
            raise ValueError(f"need 0 <= low < 1 < high, got [{low}, {high}]")
        return value


class SurvivalSettings(Schema):
    """One survival screen: temperatures x replicas, durations, checks (times in ps, steps in fs)."""

    temperatures_K: list[float] = Field(min_length=1)
    replicas: int = Field(default=4, ge=1, description="replicas (velocity seeds) per temperature")
    duration_ps: float = Field(default=10.0, gt=0, description="time at the target temperature")
    timestep_fs: float = Field(default=1.0, gt=0)
    target_atoms: int = Field(default=1000, ge=1, description="starting cells are replicated to at least this")
    ramp: RampSettings | None = None
    ensemble: Literal["nvt", "npt"] = "nvt"
    pressure_bar: float = Field(default=0.0, description="NPT only")
    thermostat_damping_fs: float = Field(default=100.0, gt=0)
    barostat_damping_fs: float = Field(default=1000.0, gt=0)
    nve_duration_ps: float = Field(default=1.0, ge=0, description="NVE segment for the drift check (0: none)")
    check_every_steps: int = Field(default=50, ge=1)
    thresholds: SurvivalThresholds = Field(default_factory=SurvivalThresholds)
    capture_gamma: float | None = Field(
        default=None, gt=1, description="keep each replica's first cell whose ACE gamma (at the checks) exceeds "
        "this, without failing the replica: the onset of extrapolation, which an active-learning loop labels")

    @field_validator("temperatures_K")
    @classmethod
    def _positive(cls, values: list[float]) -> list[float]:
        bad = [t for t in values if not t > 0]
        if bad:
            raise ValueError(f"temperatures must be positive, got {bad}")
        if len(set(values)) != len(values):
            raise ValueError(f"temperatures must be distinct, got {values}")
        return values

    @model_validator(mode="after")
    def _pressure_only_for_npt(self) -> "SurvivalSettings":
        if self.ensemble == "nvt" and self.pressure_bar != 0.0:
            raise ValueError("pressure_bar applies to ensemble: npt only")
        return self

    def steps(self, duration_ps: float) -> int:
        """MD steps for ``duration_ps`` at this timestep (0 for 0 ps)."""
        return steps_for(duration_ps, self.timestep_fs, at_least=0)

    @property
    def replica_count(self) -> int:
        return len(self.temperatures_K) * self.replicas
