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
    /observables/dt/           step[T], time[T], value[T]: time between frames (ps; frame 0 holds
                               frame 1's spacing, NaN while the file has one frame)
    /parameters/simkit/run_<i> provenance of each run segment that wrote to the file (JSON; attrs
                               status = running|finished|failed|interrupted)
    /simkit/thermo/<name>/     step[S], time[S], value[S] (thermo time series, own cadence)
    /simkit/committed          [frames, thermo records] safely on disk (see the writer)

Every ``time`` dataset carries ``origin``: what t = 0 is (the writer's caller
says; simkit's MD engine: step 0 of the protocol, the start of its first stage,
so a file that records only a production stage starts later than 0).

Why the thermo series are not under ``/observables``: MDAnalysis's H5MD reader
(the most used one) reads every ``/observables/<name>/value`` at the *frame*
index, so a series at its own cadence would be served as the wrong frame's
value without a warning. ``/observables`` therefore holds only frame-aligned
data: ``dt``, which is also the one place that reader takes the frame spacing
from (``Universe(file).trajectory.dt``). Files written before this layout keep
their thermo series under ``/observables``; the reader and resume accept both.

Every time-dependent element of a frame shares the ``position`` step and time
datasets through HDF5 hard links (allowed by H5MD), so they cannot disagree;
``/observables/dt`` keeps its own copies (a link across top-level groups does
not survive the group-by-group copy of :func:`simkit.io.h5md_recover.recover`).
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
OBSERVABLES = "observables"  # frame-aligned observables only (see above)
FRAME_DT = f"{OBSERVABLES}/dt"
THERMO_SERIES = "simkit/thermo"  # scalar series at their own cadence; older files: OBSERVABLES
PROVENANCE = "parameters/simkit"
COMMITTED = "simkit/committed"  # int64[2]: frames, thermo records
DEFAULT_TIME_ORIGIN = "t = 0 ps at step 0"
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
    """A scalar time series stored under ``/simkit/thermo/<name>``."""

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
