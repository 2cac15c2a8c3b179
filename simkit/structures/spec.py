"""Structure specs in configs: a file (any format ASE reads) or a built crystal.

Examples::

    structure: {file: GeSbTe.cif, repeat: [4, 4, 2]}
    structure: {bulk: {element: Si, crystal: diamond, a_A: 5.431, cubic: true}, repeat: [4, 4, 4]}
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from ase import Atoms
from pydantic import Field, model_validator

from simkit.config.schema import ExistingFile, Schema
from simkit.errors import InputDataError


class BulkSpec(Schema):
    """A crystal from ``ase.build.bulk``."""

    element: str = Field(min_length=1, description="chemical formula, e.g. Si or NaCl")
    crystal: Literal["sc", "fcc", "bcc", "hcp", "diamond", "zincblende", "rocksalt", "cesiumchloride", "fluorite", "wurtzite"]
    a_A: float = Field(gt=0)
    c_A: float | None = Field(default=None, gt=0)
    cubic: bool = False
    orthorhombic: bool = False


class StructureSpec(Schema):
    """Exactly one of ``file`` or ``bulk``, optionally repeated and rattled."""

    file: ExistingFile | None = None
    index: int = Field(default=-1, description="frame of a multi-frame file (default: last)")
    format: str | None = Field(default=None, description="ASE format name if the suffix is ambiguous")
    bulk: BulkSpec | None = None
    repeat: tuple[int, int, int] = (1, 1, 1)
    rattle_A: float = Field(default=0.0, ge=0, description="Gaussian displacement std, Å")

    @model_validator(mode="after")
    def _one_source(self) -> "StructureSpec":
        if (self.file is None) == (self.bulk is None):
            raise ValueError("give exactly one of 'file' or 'bulk'")
        if min(self.repeat) < 1:
            raise ValueError(f"repeat must be positive integers, got {list(self.repeat)}")
        return self


def load_structure(spec: StructureSpec, rng: np.random.Generator | None = None) -> Atoms:
    """Build or read the structure described by ``spec``."""
    if spec.file is not None:
        from ase.io import read

        try:
            # parallel=False: once mpi4py is imported ASE would otherwise read on world rank 0 and
            # broadcast, a collective that ranks of a sub-communicator never join.
            atoms = read(spec.file, index=spec.index, format=spec.format, parallel=False)
        except Exception as exc:  # noqa: BLE001 - ASE raises many types for bad files
            raise InputDataError(f"{spec.file}: cannot read structure (frame {spec.index}): {exc}") from exc
    else:
        from ase.build import bulk

        b = spec.bulk
        atoms = bulk(b.element, b.crystal, a=b.a_A, c=b.c_A, cubic=b.cubic, orthorhombic=b.orthorhombic)
    atoms = atoms.repeat(spec.repeat)
    if spec.rattle_A > 0:
        if rng is None:
            raise ValueError("rattling needs a random generator (pass the run's seeded Generator)")
        atoms.positions += rng.normal(0.0, spec.rattle_A, size=atoms.positions.shape)
    return atoms
