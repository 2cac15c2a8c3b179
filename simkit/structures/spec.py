"""Structure specs in configs: a file (any format ASE reads) or a built crystal.

Examples::

    structure: {file: GeSbTe.cif, repeat: [4, 4, 2]}
    structure: {bulk: {element: Si, crystal: diamond, a_A: 5.431, cubic: true}, repeat: [4, 4, 4]}
    structure: {builtin: {name: Sb2Te3-rocksalt, a_A: 6.2}, repeat: [3, 3, 3]}   # random cation vacancies
    structure: {bulk: {element: SbTe, crystal: rocksalt, a_A: 6.2, cubic: true}, vacancies: {Sb: 0.3333}}
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.data import atomic_numbers
from ase.io import read
from ase.symbols import string2symbols
from pydantic import Field, field_validator, model_validator

from simkit.config.schema import ExistingFile, Schema
from simkit.errors import InputDataError
from simkit.structures.crystals import BuiltinCrystal, build_builtin, remove_random_sites, sublattice_vacancies

Repeat = Annotated[int, Field(ge=1, le=1000)]

class BulkSpec(Schema):
    """A crystal from ``ase.build.bulk``."""

    element: str = Field(min_length=1, description="chemical formula, e.g. Si or NaCl")

    @field_validator("element")
    @classmethod
    def _known_elements(cls, value: str) -> str:
        try:
            symbols = string2symbols(value)
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{value!r} is not a chemical formula") from exc
        unknown = sorted(set(symbols) - set(atomic_numbers))
        if unknown:
            raise ValueError(f"{value!r}: {', '.join(unknown)} is not an element")
        return value
    crystal: Literal["sc", "fcc", "bcc", "hcp", "diamond", "zincblende", "rocksalt", "cesiumchloride", "fluorite", "wurtzite"]
    a_A: float = Field(gt=0)
    c_A: float | None = Field(default=None, gt=0)
    cubic: bool = False
    orthorhombic: bool = False


class StructureSpec(Schema):
    """Exactly one of ``file``, ``bulk`` or ``builtin``; repeated, then vacancies, then rattled."""

    file: ExistingFile | None = None
    index: int = Field(default=-1, description="frame of a multi-frame file (default: last)")
    format: str | None = Field(default=None, description="ASE format name if the suffix is ambiguous")
    bulk: BulkSpec | None = None
    builtin: BuiltinCrystal | None = None
    # 1000 cells per axis is far past any cell LAMMPS holds on one node; a larger number is a typo
    # that would otherwise end in a MemoryError while the cell is built.
    repeat: tuple[Repeat, Repeat, Repeat] = (1, 1, 1)
    rattle_A: float = Field(default=0.0, ge=0, description="Gaussian displacement std, Å")
    vacancies: dict[str, float] = Field(
        default_factory=dict, description="fraction of each element's sites emptied at random after repeating, "
        "e.g. {Sb: 0.3333}; a builtin crystal adds its own")

    @model_validator(mode="after")
    def _one_source(self) -> "StructureSpec":
        if sum(source is not None for source in (self.file, self.bulk, self.builtin)) != 1:
            raise ValueError("give exactly one of 'file', 'bulk' or 'builtin'")
        for element, fraction in self.vacancies.items():
            if not 0 <= fraction < 1:
                raise ValueError(f"vacancies.{element} = {fraction}: a fraction in [0, 1) of the {element} sites")
        return self


def all_vacancies(spec: StructureSpec) -> dict[str, float]:
    """Vacancy fractions of ``spec``: its builtin crystal's, overridden by the ``vacancies`` key."""
    return {**sublattice_vacancies(spec.builtin), **spec.vacancies}


def read_structures(path: Path, index: int | str = -1, format: str | None = None) -> list[Atoms]:
    """Frames ``index`` (an ASE index: an int, or a slice string such as ``':'``) of a structure file in any
    format ASE reads, each checked to hold atoms with finite positions and cell.

    Every file a config points to as a structure or as frames is read here, so a bad one is refused in
    one line naming the file and the frame (:class:`InputDataError`) before any work starts.
    """
    try:
        # parallel=False: once mpi4py is imported ASE would otherwise read on world rank 0 and
        # broadcast, a collective that ranks of a sub-communicator never join.
        frames = read(path, index=index, format=format, parallel=False)
    except Exception as exc:  # noqa: BLE001 - ASE raises many types for bad files
        # One line, whatever the reader's message looks like; some readers stop with no message at all.
        message = " ".join(str(exc).split()) or f"ASE's reader stopped ({type(exc).__name__}): damaged or incomplete?"
        what = f"structure (frame {index})" if isinstance(index, int) else f"frames {index!r}"
        raise InputDataError(f"{path}: cannot read {what}: {message}") from exc
    frames = frames if isinstance(frames, list) else [frames]
    if not frames:
        if index == ":":
            raise InputDataError(f"{path}: ASE reads no frames from it (damaged, or another format than its name says?)")
        raise InputDataError(f"{path}: index {index!r} selects no frames")
    for k, atoms in enumerate(frames):
        frame = f"frame {index}" if isinstance(index, int) else f"frame {k} of {index!r}"
        if len(atoms) == 0:
            raise InputDataError(f"{path}: {frame} has no atoms")
        if not (np.isfinite(atoms.positions).all() and np.isfinite(np.asarray(atoms.cell)).all()):
            raise InputDataError(f"{path}: {frame} has non-finite positions or cell")
    return frames


def load_structure(spec: StructureSpec, rng: np.random.Generator | None = None, *,
                   with_vacancies: bool = True) -> Atoms:
    """Build or read the structure described by ``spec``.

    ``with_vacancies=False`` returns the repeated cell with every site filled, for
    callers that cut a larger cell first and place vacancies in it afterwards.
    """
    if spec.file is not None:
        (atoms,) = read_structures(spec.file, spec.index, spec.format)
    elif spec.builtin is not None:
        atoms = build_builtin(spec.builtin)
    else:
        b = spec.bulk
        try:
            atoms = bulk(b.element, b.crystal, a=b.a_A, c=b.c_A, cubic=b.cubic, orthorhombic=b.orthorhombic)
        except (ValueError, KeyError, RuntimeError) as exc:  # e.g. a one-element formula for rocksalt
            raise InputDataError(f"structure.bulk: ase.build.bulk cannot make {b.crystal} {b.element}: {exc}") from exc
    atoms = atoms.repeat(spec.repeat)
    if with_vacancies:
        atoms = remove_random_sites(atoms, all_vacancies(spec), rng)
    if spec.rattle_A > 0:
        if rng is None:
            raise ValueError("rattling needs a random generator (pass the run's seeded Generator)")
        atoms.positions += rng.normal(0.0, spec.rattle_A, size=atoms.positions.shape)
    return atoms
