"""Config models of ``simkit tde`` and ``simkit cascade``: the parts they share, then each command's own.

Units are in the key names. Directions are Miller-index lists (``[1, 1, 0]``)
or strings (``"110"``, ``"-1 1 0"``) in the frame of the structure as given.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from simkit.config.schema import ExistingFile, PathIn, Schema
from simkit.lammps.potentials.specs import PotentialSpec
from simkit.radiation.directions import parse_direction
from simkit.structures.spec import StructureSpec


def _direction(value: Any) -> Any:
    """A Miller-index list or string, kept as written (labels show it); a zero-length or unreadable
    direction is refused by parse_direction's ValueError."""
    if not isinstance(value, (str, list)):
        raise ValueError("a direction is a list of three numbers, e.g. [1, 1, 0], or a string such as \"1 1 0\"")
    parse_direction(value)
    return value


Direction = Annotated[Any, AfterValidator(_direction)]


class PkaSpec(Schema):
    """The primary knock-on atom: an atom index of the (repeated) structure, or the atom of ``species``
    nearest the cell centre (default: of any species)."""

    index: int | None = Field(default=None, ge=0, description="0-based index in the repeated structure")
    species: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one(self) -> "PkaSpec":
        if self.index is not None and self.species is not None:
            raise ValueError("give index or species, not both")
        return self


class EquilibrationSpec(Schema):
    """NPT at the run's temperature before any knock (Nose-Hoover; the cell is then kept fixed)."""

    duration_ps: float = Field(default=5.0, ge=0, le=1e4)
    timestep_fs: float = Field(default=1.0, gt=0, le=10)
    pressure_bar: float = 0.0
    thermostat_damping_fs: float = Field(default=100.0, gt=0)
    barostat_damping_fs: float = Field(default=1000.0, gt=0)


class BorderSpec(Schema):
    """Atoms within ``width_A`` of the periodic faces are thermostatted; the rest run NVE."""

    width_A: float = Field(default=2.0, gt=0)
    thermostat: Literal["langevin", "berendsen"] = "langevin"
    damping_fs: float = Field(default=100.0, gt=0)


class TimestepSpec(Schema):
    """Adaptive timestep: no atom moves more than ``max_displacement_A`` per step; step <= ``max_fs``."""

    max_fs: float = Field(default=1.0, gt=0, le=10)
    max_displacement_A: float = Field(default=0.05, gt=0, le=0.5)


class RepulsionSpec(Schema):
    """The dimer check of the potential's short range before anything runs (see radiation.repulsion)."""

    on_failure: Literal["error", "warn"] = "error"


class DirectionsSpec(Schema):
    """A list of ``miller`` directions, or ``fibonacci`` quasi-uniform ones (optionally reduced to the cubic
    irreducible wedge, each weighted by the solid angle its symmetry images cover)."""

    miller: list[Direction] | None = Field(default=None, min_length=1)
    fibonacci: int | None = Field(default=None, ge=1, le=100_000)
    irreducible: bool = Field(default=False, description="keep fibonacci directions in the cubic wedge")
    cubic_symmetry: bool = Field(
        default=True, description="weight listed directions by the Voronoi areas of their 48 cubic images"
    )

    @model_validator(mode="after")
    def _one(self) -> "DirectionsSpec":
        if (self.miller is None) == (self.fibonacci is None):
            raise ValueError("give exactly one of miller or fibonacci")
        return self


class ScanSpec(Schema):
    """Energies tried for each direction: ``start_eV``, then ``step_eV`` more until a defect or ``max_eV``."""

    start_eV: float = Field(default=5.0, gt=0)
    step_eV: float = Field(default=1.0, gt=0)
    max_eV: float = Field(default=150.0, gt=0, le=1e5)
    duration_fs: float = Field(default=400.0, gt=0, le=1e5)

    @model_validator(mode="after")
    def _ordered(self) -> "ScanSpec":
        if self.max_eV < self.start_eV:
            raise ValueError(f"max_eV ({self.max_eV:g}) is below start_eV ({self.start_eV:g})")
        if (self.max_eV - self.start_eV) / self.step_eV > 100_000:
            raise ValueError("more than 100,000 energies per direction: raise step_eV")
        return self


class TdeConfig(Schema):
    """A ``simkit tde`` study (see inputs/tde_fe.yaml)."""

    output_dir: PathIn
    seed: int = Field(default=0, ge=0)
    potential: PotentialSpec
    structure: StructureSpec
    pka: PkaSpec = PkaSpec()
    directions: DirectionsSpec
    temperatures_K: list[float] = Field(min_length=1)
    equilibrations: int = Field(default=1, ge=1, le=10_000, description="independent equilibrations per temperature")
    equilibration: EquilibrationSpec = EquilibrationSpec()
    scan: ScanSpec = ScanSpec()
    border: BorderSpec = BorderSpec()
    timestep: TimestepSpec = TimestepSpec()
    repulsion: RepulsionSpec = RepulsionSpec()
    workers: int | None = Field(default=None, ge=0, description="worker processes without mpirun (default: cores)")

    @field_validator("temperatures_K")
    @classmethod
    def _positive(cls, values: list[float]) -> list[float]:
        if any(t <= 0 for t in values):
            raise ValueError("temperatures must be above 0 K")
        return values

    def input_files(self):
        return [self.structure.file] if self.structure.file is not None else []


class StoppingSpec(Schema):
    """Electronic stopping as a friction on atoms above ``min_energy_eV``: Lindhard-Scharff computed by
    simkit for the structure's elements, or a user ``table`` (energy_eV, then eV/Å per species)."""

    model: Literal["lindhard-scharff", "table"] = "lindhard-scharff"
    table: ExistingFile | None = None
    min_energy_eV: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _table(self) -> "StoppingSpec":
        if (self.model == "table") != (self.table is not None):
            raise ValueError("model: table needs table: FILE, and a table needs model: table")
        return self


class TtmSpec(Schema):
    """The two-temperature model (LAMMPS ``fix ttm``): electrons on a grid exchange heat with the atoms
    (``electron_phonon_friction``) and stop fast atoms (``electronic_stopping_friction`` above
    ``stopping_velocity_A_per_ps``). Parameters are material data the user supplies (e.g. from the
    study being reproduced); simkit converts nothing. Replaces ``electronic_stopping``."""

    electronic_specific_heat_eV_per_K: float = Field(gt=0, description="C_e, per electron")
    electron_density_per_A3: float = Field(gt=0, description="rho_e")
    electronic_conductivity_eV_per_ps_A_K: float = Field(gt=0, description="kappa_e")
    electron_phonon_friction_amu_per_ps: float = Field(gt=0, description="gamma_p")
    electronic_stopping_friction_amu_per_ps: float = Field(default=0.0, ge=0, description="gamma_s")
    stopping_velocity_A_per_ps: float = Field(default=0.0, ge=0, description="v_0")
    grid: tuple[int, int, int] = Field(default=(10, 10, 10), description="electron grid points along x, y, z")
    initial_electron_temperature_K: float | None = Field(default=None, gt=0, description="default: temperature_K")

    @field_validator("grid")
    @classmethod
    def _grid(cls, value):
        if any(n < 1 or n > 1000 for n in value):
            raise ValueError("grid points per axis must be 1-1000")
        return value


class CellSpec(Schema):
    """The cascade cell: the structure repeated cubically to at least ``atoms_per_eV`` x E_PKA atoms,
    unless the structure's ``repeat`` already holds that many (fewer is refused)."""

    atoms_per_eV: float = Field(default=10.0, gt=0)


class CascadeSpec(Schema):
    duration_ps: float = Field(default=8.0, gt=0, le=1e4)
    defects_every_ps: float = Field(default=0.1, gt=0, description="Wigner-Seitz counts over time")
    frames_every_ps: float | None = Field(default=None, gt=0, description="H5MD frames (default: none)")


class CascadeConfig(Schema):
    """A ``simkit cascade`` campaign (see inputs/cascade_fe.yaml)."""

    output_dir: PathIn
    seed: int = Field(default=0, ge=0)
    potential: PotentialSpec
    structure: StructureSpec
    pka: PkaSpec = PkaSpec()
    energies_eV: list[float] = Field(min_length=1)
    directions: list[Direction] = Field(min_length=1)
    repeats: int = Field(default=1, ge=1, le=100_000, description="cascades per (energy, direction)")
    temperature_K: float = Field(default=300.0, gt=0)
    equilibration: EquilibrationSpec = EquilibrationSpec(duration_ps=20.0)
    cascade: CascadeSpec = CascadeSpec()
    cell: CellSpec = CellSpec()
    border: BorderSpec = BorderSpec(width_A=3.0)
    timestep: TimestepSpec = TimestepSpec(max_displacement_A=0.1)
    electronic_stopping: StoppingSpec | None = StoppingSpec()
    ttm: TtmSpec | None = None
    displacement_threshold_eV: float | None = Field(
        default=None, gt=0, description="E_d for the NRT and arc-dpa estimates (default: the element's tabulated value)"
    )
    cluster_cutoff_A: float | None = Field(default=None, gt=0)
    repulsion: RepulsionSpec = RepulsionSpec()

    @field_validator("energies_eV")
    @classmethod
    def _energies(cls, values: list[float]) -> list[float]:
        if any(e <= 0 for e in values):
            raise ValueError("PKA energies must be above 0 eV")
        return values

    @model_validator(mode="after")
    def _one_electronic_model(self) -> "CascadeConfig":
        if self.ttm is not None and self.electronic_stopping is not None:
            raise ValueError("ttm includes electronic stopping: with ttm set electronic_stopping: null")
        return self

    def input_files(self):
        files = [self.structure.file] if self.structure.file is not None else []
        if self.electronic_stopping is not None and self.electronic_stopping.table is not None:
            files.append(self.electronic_stopping.table)
        return files
