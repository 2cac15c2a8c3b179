"""Config of ``simkit validate`` (see inputs/validate_cu.yaml).

Units are in the key names. ``reference`` is another potential (its
properties are computed the same way) or a table of values whose names are
the quantity names of the outputs (``a_A``, ``C11_GPa``, ``vacancy_formation_eV``,
``surface_111_J_per_m2``, ...), with the source they come from.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from simkit.config.schema import ExistingFile, PathIn, Schema
from simkit.lammps.potentials.specs import PotentialSpec
from simkit.structures.spec import StructureSpec

Miller = tuple[int, int, int]


class LatticeSpec(Schema):
    """Zero-pressure relaxation of the structure (always done: every other property starts from it)."""

    pressure_bar: float = 0.0


class EosSpec(Schema):
    volume_range: float = Field(default=0.10, gt=0, le=0.5, description="+- fraction of V0")
    points: int = Field(default=11, ge=5, le=201)


class ElasticSpec(Schema):
    strain: float = Field(default=0.005, gt=0, le=0.05, description="central-difference amplitude; half of it "
                          "is also run to show the amplitude's effect")


def _repeat_of_at_most(cells: int):
    """A supercell repeat: three positive integers, at most ``cells`` unit cells (a larger one is a typo
    that would end in hours of relaxation or a MemoryError)."""

    def check(value: tuple[int, int, int]) -> tuple[int, int, int]:
        if min(value) < 1 or value[0] * value[1] * value[2] > cells:
            raise ValueError(f"repeat: three positive integers, at most {cells:,} cells")
        return value

    return Annotated[tuple[int, int, int], AfterValidator(check)]


Repeat = _repeat_of_at_most(100_000)


class VacancySpec(Schema):
    repeat: Repeat = Field(default=(4, 4, 4), description="supercell of the structure")


class InterstitialSpec(VacancySpec):
    """A dumbbell direction (crystal frame of the structure) or a fractional site of the structure's cell."""

    dumbbell: tuple[float, float, float] | None = None
    site_frac: tuple[float, float, float] | None = None

    @model_validator(mode="after")
    def _one(self) -> "InterstitialSpec":
        if (self.dumbbell is None) == (self.site_frac is None):
            raise ValueError("give exactly one of dumbbell (a direction) or site_frac (a position)")
        if self.dumbbell is not None and not any(self.dumbbell):
            raise ValueError("dumbbell: a direction, not [0, 0, 0]")
        return self


class SurfaceSpec(Schema):
    miller: list[Miller] = Field(min_length=1)
    layers: int = Field(default=8, ge=3, le=200)
    vacuum_A: float = Field(default=20.0, gt=0, le=1000)

    @field_validator("miller")
    @classmethod
    def _nonzero(cls, value: list[Miller]) -> list[Miller]:
        if any(not any(m) for m in value):
            raise ValueError("Miller indices [0, 0, 0] name no plane")
        return value


class PlanarDefectSpec(Schema):
    """A stacking fault, grain boundary or any planar defect given as a structure file: periodic cell,
    the defect planes normal to cell vector ``normal_axis``, ``interfaces`` of them per cell (a periodic
    bicrystal holds two). gamma = (E - N e_bulk) / (interfaces x A), atoms relaxed in the fixed cell."""

    file: ExistingFile
    index: int = -1
    normal_axis: int = Field(default=2, ge=0, le=2)
    interfaces: int = Field(default=1, ge=1, le=100)
    relax_cell_normal: bool = Field(default=False, description="also relax the cell length along the normal "
                                    "(grain boundaries expand; a stacking fault cut from the crystal does not)")

    @model_validator(mode="after")
    def _normal(self) -> "PlanarDefectSpec":
        if self.relax_cell_normal and self.normal_axis != 2:
            raise ValueError("relax_cell_normal needs normal_axis 2 (the cell's third vector, LAMMPS's z)")
        return self


class DimerSpec(Schema):
    closest_A: float = Field(default=0.5, gt=0.05, le=3.0)
    points: int = Field(default=300, ge=20, le=10_000)


class LiquidSpec(Schema):
    """NPT MD of the melted crystal: density, g(r), bond angles, coordination (see validation/liquid.py)."""

    temperature_K: float = Field(gt=0, le=20_000)
    pressure_bar: float = 0.0
    melt_temperature_K: float | None = Field(default=None, gt=0, le=20_000,
                                             description="melt here first (default: start at temperature_K)")
    melt_ps: float = Field(default=5.0, ge=0, le=1e4)
    equilibrate_ps: float = Field(default=5.0, ge=0, le=1e4)
    production_ps: float = Field(default=10.0, gt=0, le=1e5)
    sample_every_ps: float = Field(default=0.2, gt=0)
    timestep_fs: float = Field(default=2.0, gt=0, le=10)
    repeat: Repeat = (3, 3, 3)
    bond_cutoff_A: float = Field(gt=0, le=20, description="neighbours for angles and coordination (Å)")
    rdf_r_max_A: float = Field(default=6.0, gt=0, le=50)
    rdf_bin_width_A: float = Field(default=0.05, gt=0, le=1)
    seed: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _sampling(self) -> "LiquidSpec":
        if self.sample_every_ps > self.production_ps:
            raise ValueError("sample_every_ps is longer than production_ps: no sample would be taken")
        if self.production_ps / self.sample_every_ps > 100_000:
            raise ValueError("more than 100,000 samples: raise sample_every_ps")
        return self


class PhononSpec(Schema):
    """Finite-displacement phonons (phonopy) of the relaxed crystal; q-points in the primitive cell's
    reciprocal lattice (fractions), e.g. fcc: {X: [0.5, 0.0, 0.5], L: [0.5, 0.5, 0.5]}."""

    repeat: _repeat_of_at_most(1000) = (3, 3, 3)
    displacement_A: float = Field(default=0.01, gt=0, le=0.1)
    q_points: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")], tuple[float, float, float]] = Field(
        default_factory=dict)
    mesh: int = Field(default=20, ge=1, le=200, description="Gamma-centred mesh per axis for DOS and extremes")


class PropertiesSpec(Schema):
    lattice: LatticeSpec = LatticeSpec()
    eos: EosSpec | None = None
    elastic: ElasticSpec | None = None
    vacancy: VacancySpec | None = None
    interstitials: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")], InterstitialSpec] = Field(
        default_factory=dict, description="name -> interstitial, e.g. {dumbbell_100: {dumbbell: [1, 0, 0]}}")
    surfaces: SurfaceSpec | None = None
    planar_defects: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")], PlanarDefectSpec] = Field(
        default_factory=dict, description="name -> structure file, e.g. {isf_111: {file: isf.extxyz}}")
    dimer: DimerSpec | None = None
    phonons: PhononSpec | None = None
    liquid: LiquidSpec | None = None


class ReferenceCurves(Schema):
    """Measured or published liquid curves: CSV files with a header, ``r_A,g`` and ``angle_deg,P_per_deg``."""

    liquid_rdf: ExistingFile | None = None
    liquid_adf: ExistingFile | None = None


class ReferenceSpec(Schema):
    """Exactly one of ``potential`` or ``values`` (quantity name -> number, units in the name), which may
    come with ``curves`` (e.g. a measured liquid g(r))."""

    potential: PotentialSpec | None = None
    values: dict[str, float] = Field(default_factory=dict)
    curves: ReferenceCurves | None = None
    source: str = Field(default="", description="where the values come from (paper, table)")

    @model_validator(mode="after")
    def _one(self) -> "ReferenceSpec":
        if self.potential is not None and (self.values or self.curves):
            raise ValueError("give a reference potential, or values and curves, not both")
        if self.potential is None and not self.values and self.curves is None:
            raise ValueError("give a reference potential, or values and/or curves")
        return self


class ValidateConfig(Schema):
    output_dir: PathIn
    potential: PotentialSpec
    structure: StructureSpec
    properties: PropertiesSpec = PropertiesSpec()
    reference: ReferenceSpec | None = None
    tolerances: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="quantity -> largest |value - reference| that passes")

    @model_validator(mode="after")
    def _tolerances_need_a_reference(self) -> "ValidateConfig":
        if self.tolerances and self.reference is None:
            raise ValueError("tolerances compare with a reference: give reference")
        if self.reference is not None and self.reference.curves is not None and self.properties.liquid is None:
            raise ValueError("reference.curves are liquid curves: add properties.liquid to compare with them")
        return self

    def input_files(self):
        files = [self.structure.file] if self.structure.file is not None else []
        files += [planar.file for planar in self.properties.planar_defects.values()]
        if self.reference is not None and self.reference.curves is not None:
            files += [f for f in (self.reference.curves.liquid_rdf, self.reference.curves.liquid_adf) if f]
        return files


# Quantities of the lattice relaxation (always computed) and of each optional property.
LATTICE_QUANTITIES = ("a_A", "b_A", "c_A", "energy_per_atom_eV", "volume_per_atom_A3")
EOS_QUANTITIES = ("B0_GPa", "B0_prime", "V0_A3_per_atom", "E0_eV_per_atom", "eos_fit_rms_meV_per_atom")
ELASTIC_QUANTITIES = tuple(f"C{i}{j}_GPa" for i in range(1, 7) for j in range(i, 7)) + (
    "bulk_modulus_voigt_GPa", "shear_modulus_voigt_GPa", "elastic_strain_effect_GPa")
VACANCY_QUANTITIES = ("vacancy_formation_eV", "vacancy_formation_unrelaxed_eV")


def with_quantities(spec: PropertiesSpec, names: list[str], key: str) -> PropertiesSpec:
    """``spec`` with every property the quantity ``names`` need switched on (default settings); a name no
    property gives, or one whose property needs settings (interstitial sites, surface planes), is an error
    naming ``key``."""
    update: dict = {}
    for name in names:
        if name in LATTICE_QUANTITIES:
            continue
        if name in EOS_QUANTITIES:
            update.setdefault("eos", spec.eos or EosSpec())
        elif name in ELASTIC_QUANTITIES:
            update.setdefault("elastic", spec.elastic or ElasticSpec())
        elif name in VACANCY_QUANTITIES:
            update.setdefault("vacancy", spec.vacancy or VacancySpec())
        elif name.startswith("interstitial_"):
            site = name.removeprefix("interstitial_").removesuffix("_formation_eV")
            if site not in spec.interstitials:
                raise ValueError(f"{key}.{name}: no interstitial {site!r} in the properties to compute "
                                 f"(define it under interstitials)")
        elif name.startswith("surface_") and name.endswith("_J_per_m2"):
            planes = ["".join(str(i) for i in m).replace("-", "m") for m in (spec.surfaces.miller if spec.surfaces
                                                                            else [])]
            if name.removeprefix("surface_").removesuffix("_J_per_m2") not in planes:
                raise ValueError(f"{key}.{name}: that plane is not among the surfaces to compute (surfaces.miller)")
        elif name.startswith("phonon_"):
            update.setdefault("phonons", spec.phonons or PhononSpec())
        elif name.startswith("liquid_"):
            if spec.liquid is None:
                raise ValueError(f"{key}.{name}: needs the liquid property's settings (liquid: temperature_K, "
                                 "bond_cutoff_A, ...)")
        elif name.startswith("planar_") and name.endswith("_J_per_m2"):
            defect = name.removeprefix("planar_").removesuffix("_J_per_m2")
            if defect not in spec.planar_defects:
                raise ValueError(f"{key}.{name}: no planar defect {defect!r} in the properties to compute "
                                 "(define it under planar_defects)")
        elif name.startswith("dimer_"):
            update.setdefault("dimer", spec.dimer or DimerSpec())
        else:
            raise ValueError(f"{key}.{name}: not a quantity simkit validate computes (e.g. a_A, B0_GPa, C44_GPa, "
                             "vacancy_formation_eV, interstitial_<name>_formation_eV, surface_<hkl>_J_per_m2)")
    return spec.model_copy(update=update)
