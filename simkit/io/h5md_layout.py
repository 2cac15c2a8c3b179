"""Names, units and conventions of simkit's H5MD files, defined once for writer and reader.

Layout (H5MD 1.1; ``[T]`` = one entry per frame, ``N`` atoms)::

    /h5md                      version = [1, 1]; author/ creator/ modules/units/
    /particles/trajectory/
        box/                   dimension = 3, boundary = periodic|none per axis
            edges/             step[T], time[T], value[T, 3, 3]  (rows = cell vectors, Angstrom)
        position/              step[T] (int64), time[T] (ps), value[T, N, 3] (Angstrom, wrapped)
        image/                 value[T, N, 3] (int32): unwrapped = position + image @ edges
        velocity/, force/      optional, value[T, N, 3] (Angstrom ps-1, eV Angstrom-1)
        <extra>/               optional per-atom data, value[T, N] or [T, N, k]
        species                [N] atomic numbers; mass [N] (u)
    /observables/<name>/       step[S], time[S], value[S] (thermo time series, own cadence)
    /parameters/simkit/run_<i> provenance of each run segment that wrote to the file (JSON)
    /simkit/committed          [frames, observable records] safely on disk (see the writer)

Every time-dependent element of a frame shares the ``position`` step and time
datasets through HDF5 hard links (allowed by H5MD), so they cannot disagree.
Every dataset carries ``units`` (simkit's convention; ``1`` when
dimensionless); physical ones also carry H5MD's ``unit``, spelled so that
MDAnalysis's H5MD reader understands length, time and velocity (it knows no
eV-based force unit and refuses files with forces, which are optional).
"""

from __future__ import annotations

from dataclasses import dataclass

H5MD_VERSION = (1, 1)
UNITS_MODULE_VERSION = (1, 0)
PARTICLES_GROUP = "trajectory"  # MDAnalysis finds a topology-less file's atoms under this name
PARTICLES = f"particles/{PARTICLES_GROUP}"
OBSERVABLES = "observables"
PROVENANCE = "parameters/simkit"
COMMITTED = "simkit/committed"  # int64[2]: frames, observable records
FRAME_ELEMENTS = ("position", "image", "velocity", "force")
RESERVED_NAMES = frozenset({*FRAME_ELEMENTS, "box", "species", "mass", "id"})

LENGTH_UNIT = "Angstrom"
TIME_UNIT = "ps"
VELOCITY_UNIT = "Angstrom ps-1"
FORCE_UNIT = "eV Angstrom-1"
MASS_UNIT = "u"
DIMENSIONLESS = "1"

# Suffix of the trajectory files simkit writes; MDAnalysis picks its H5MD reader by it.
TRAJECTORY_SUFFIX = ".h5md"
TRAJECTORY_FILE = "trajectory.h5md"


@dataclass(frozen=True)
class ObservableSpec:
    """A scalar time series stored under ``/observables/<name>``."""

    name: str
    unit: str


# Thermo keywords of LammpsSession.thermo() -> observables written for them.
THERMO_OBSERVABLES: dict[str, ObservableSpec] = {
    "temp": ObservableSpec("temperature", "K"),
    "pe": ObservableSpec("potential_energy", "eV"),
    "ke": ObservableSpec("kinetic_energy", "eV"),
    "etotal": ObservableSpec("total_energy", "eV"),
    "press": ObservableSpec("pressure", "bar"),
    "vol": ObservableSpec("volume", "Angstrom3"),
}


@dataclass(frozen=True)
class PerAtomSpec:
    """Optional per-atom data stored with each frame, e.g. crystallinity or region ids.

    ``components`` 1 gives ``value[T, N]``; more gives ``value[T, N, components]``.
    """

    name: str
    unit: str = DIMENSIONLESS
    components: int = 1
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.name in RESERVED_NAMES or "/" in self.name or not self.name:
            raise ValueError(f"per-atom data name {self.name!r} is reserved or invalid")
        if self.components < 1:
            raise ValueError(f"per-atom data {self.name!r}: components must be >= 1, got {self.components}")

    def shape(self, natoms: int) -> tuple[int, ...]:
        return (natoms,) if self.components == 1 else (natoms, self.components)
