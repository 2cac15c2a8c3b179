"""The MD protocol schema: global settings, regions, observables and a list of stages.

The stages are a tagged union on ``stage`` (see :mod:`simkit.drivers.md.stages`).
Physical units are in the key names and checked on load; cross-references
(region names, regions inside the box, pulses into regions with atoms) are
checked against the built structure by :mod:`simkit.drivers.md.plan` before
LAMMPS starts. Example::

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

A device run replaces ``structure`` by ``device`` (see
:mod:`simkit.structures.device`), which defines the regions ``frozen``,
``heater`` and ``cell``; ``regions`` adds more.

``trajectory_species`` (a list of element symbols; default: every atom)
limits the atoms stored in trajectory frames, e.g. to the mobile ions of a
diffusion run; a species absent from the structure is refused. Frames are
written every ``trajectory_every`` steps of a segment, and once at the first
step of a segment that records frames when the segment before it records none
(or it is the first), so recording always starts from the state it starts in.

``max_temperature_K`` stops a run whose temperature runs away. Each thermo row
(every ``thermo_every`` steps, no extra cost) is compared with the ceiling;
above it, the run ends as failed (exit 5), naming the stage, step and
temperature, and keeps what it wrote so far. ``auto`` (the default) is
``TEMPERATURE_CEILING_FACTOR`` (5) times the hottest target of any stage plus
the temperature rise of every heat pulse were its energy all kinetic, and at
least ``TEMPERATURE_CEILING_FLOOR_K`` (5000 K); a number sets the ceiling;
``null`` turns the check off. A thermostat can pull a blown-up run back to its
target before the run ends, so without the ceiling such a run finishes with exit 0.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

from simkit.analysis.steinhardt import BondOrderCriterion
from simkit.config.schema import PathIn, Schema
from simkit.drivers.md.stages import (  # re-exported: the schema's public names
    MAX_EVERY_STEPS,
    STAGE_KINDS,
    AmorphiseStage,
    AnnealStage,
    CoolStage,
    HeatPulseStage,
    MinimiseStage,
    NptStage,
    NveStage,
    NvtStage,
    PerAtomRecord,
    QuenchStage,
    RampStage,
    RemoveHeatStage,
    RescaleVolumeStage,
    Stage,
    VelocityStage,
)
from simkit.lammps.potentials.specs import PotentialSpec
from simkit.structures.blocks import NAME_PATTERN, Block
from simkit.structures.device import DeviceSpec
from simkit.structures.spec import StructureSpec
from simkit.units import A_PER_NM

__all__ = [
    "STAGE_KINDS", "AmorphiseStage", "AnnealStage", "CoolStage", "CrystallinitySpec", "HeatPulseStage", "MdProtocol",
    "MinimiseStage", "NptStage", "NveStage", "NvtStage", "PerAtomRecord", "ProfileSpec", "QuenchStage", "RampStage",
    "RegionSpec", "RemoveHeatStage", "RescaleVolumeStage", "Stage", "VelocityStage",
]

Interval = tuple[float, float]

# The default temperature ceiling (see the module docstring): generous, because it is there to catch a blow-up
# (10^5 K and more within a few steps), not a run that is merely hotter than asked.
TEMPERATURE_CEILING_FACTOR = 5.0
TEMPERATURE_CEILING_FLOOR_K = 5000.0


class RegionSpec(Schema):
    """An axis-aligned block, each side in nm from the box's lower corner; an omitted axis spans the box."""

    name: str = Field(pattern=NAME_PATTERN.pattern)
    x_nm: Interval | None = None
    y_nm: Interval | None = None
    z_nm: Interval | None = None
    frozen: bool = Field(default=False, description="atoms inside at the start never move")

    @model_validator(mode="after")
    def _ordered(self) -> "RegionSpec":
        for axis in ("x_nm", "y_nm", "z_nm"):
            interval = getattr(self, axis)
            if interval is not None and not 0 <= interval[0] < interval[1]:
                raise ValueError(f"{axis} = {list(interval)}: need 0 <= lower < upper")
        return self

    def block(self) -> Block:
        intervals = (self.x_nm, self.y_nm, self.z_nm)
        lo = tuple(None if i is None else i[0] * A_PER_NM for i in intervals)
        hi = tuple(None if i is None else i[1] * A_PER_NM for i in intervals)
        return Block(self.name, lo, hi, frozen=self.frozen)


class CrystallinitySpec(Schema):
    """Solid-bond crystallinity computed by LAMMPS on the fly (see :mod:`simkit.lammps.crystallinity`).

    The same criterion as the offline :class:`simkit.analysis.steinhardt.BondOrderCriterion`,
    with the same key names. Defaults suit close-packed metals with q6;
    ``cutoff_A`` should sit in the first minimum of g(r) (e.g. 3.05 Å for Cu).
    ``neighbours`` defaults to every atom within the cutoff: with a fixed
    number, an atom with fewer neighbours inside the cutoff (a hot, expanded
    crystal) gets q_l = 0 and no solid bonds.
    """

    cutoff_A: float = Field(gt=0, description="neighbour cutoff for q_lm and for solid bonds (Å)")
    degree: int = Field(default=6, ge=1, le=12, description="l of q_lm")
    neighbours: int | None = Field(default=None, ge=1, description="use only the N nearest within the cutoff")
    bond_threshold: float = Field(
        default=0.7, gt=-1, lt=1, description="normalised q_l(i).q_l(j) above which i-j is a solid bond"
    )
    min_solid_bonds: int = Field(default=7, ge=1, description="solid bonds that make an atom crystalline")

    def criterion(self) -> BondOrderCriterion:
        return BondOrderCriterion(
            cutoff_A=self.cutoff_A, degree=self.degree, neighbours=self.neighbours,
            bond_threshold=self.bond_threshold, min_solid_bonds=self.min_solid_bonds,
        )


class ProfileSpec(Schema):
    """Profiles along z (atoms, temperature, energy, crystalline fraction) in slabs of ``bin_nm``."""

    bin_nm: float = Field(gt=0)
    every: int | None = Field(default=None, gt=0, le=MAX_EVERY_STEPS,
                              description="steps between profiles (default: thermo_every)")


class ExtrapolationSpec(Schema):
    """Stop the run when an atom's ACE extrapolation grade gamma exceeds ``max_gamma``.

    Needs an ACE potential with an active set (``potential: {kind: ace, yace: ..., activeset: ...}``,
    from ``simkit ace activeset``). Gamma is graded every ``every_steps`` steps (a graded step costs
    about a second force evaluation; see benchmarks/results/ace_gamma_cost.md).
    """

    max_gamma: float = Field(gt=1)
    every_steps: int = Field(default=100, gt=0, le=MAX_EVERY_STEPS)


class MdProtocol(Schema):
    """A full ``simkit md`` run."""

    output_dir: PathIn
    seed: int = Field(default=12345, ge=0)
    structure: StructureSpec | None = None
    device: DeviceSpec | None = None
    potential: PotentialSpec
    timestep_fs: float = Field(default=1.0, gt=0)
    thermo_every: int = Field(default=100, gt=0, le=MAX_EVERY_STEPS, description="steps between thermo records")
    trajectory_every: int = Field(default=0, ge=0, le=MAX_EVERY_STEPS,
                                  description="steps between HDF5 trajectory frames (0: none)")
    trajectory_species: list[str] | None = Field(
        default=None, min_length=1, description="element symbols of the atoms in frames (default: all atoms)"
    )
    record: list[PerAtomRecord] = Field(default_factory=list, description="per-atom arrays stored in frames")
    checkpoint_every: int | None = Field(
        default=None, gt=0, le=MAX_EVERY_STEPS,
        description="steps between restart files (they are also written at every stage end)"
    )
    regions: list[RegionSpec] = Field(default_factory=list)
    crystallinity: CrystallinitySpec | None = None
    profiles: ProfileSpec | None = None
    extrapolation: ExtrapolationSpec | None = None
    max_temperature_K: float | Literal["auto"] | None = Field(
        default="auto", description="fail the run when a thermo row's temperature exceeds this (K); 'auto': "
        "5 x the hottest target (heat pulses included), at least 5000 K; null: no ceiling"
    )
    stages: list[Stage] = Field(min_length=1)

    @field_validator("max_temperature_K", mode="before")
    @classmethod
    def _ceiling(cls, value):
        # One message for the three forms (a union would report each member's complaint).
        if value is None or value == "auto":
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
            return float(value)
        raise ValueError("expected a temperature in K above 0, 'auto' (the default) or null (no ceiling)")

    @model_validator(mode="after")
    def _one_system(self) -> "MdProtocol":
        if (self.structure is None) == (self.device is None):
            raise ValueError("give exactly one of 'structure' or 'device'")
        if self.extrapolation is not None and getattr(self.potential, "activeset", None) is None:
            raise ValueError("extrapolation (max_gamma) needs an ACE potential with an active set: "
                             "potential: {kind: ace, yace: ..., activeset: ...} (build one with `simkit ace activeset`)")
        return self
