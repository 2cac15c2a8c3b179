"""Potentials as config data: a tagged union keyed by ``kind``; the one registry of potential kinds.

Each kind is one small model with a ``build()`` that returns a
:class:`~simkit.lammps.potentials.base.Potential`, and the file name endings
that identify its model file (so ``--potential FILE`` on the command line
finds its kind here too). Adding a kind means adding a model here (or in its
own module) and one entry in :data:`POTENTIAL_SPECS`. Any kind may carry
``zbl: {inner_A, outer_A}`` to overlay ZBL repulsion.

Example::

    potential:
      kind: snap
      coeff: lammps:Si_Zuo_JPCA2020.snapcoeff   # 'lammps:' = files shipped with LAMMPS
      param: lammps:Si_Zuo_JPCA2020.snapparam
      zbl: {inner_A: 1.5, outer_A: 2.2}
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import Field, model_validator

from simkit.config.schema import ExistingFile, Schema
from simkit.errors import ConfigError
from simkit.lammps.potentials.ace import AcePotential
from simkit.lammps.potentials.base import Potential
from simkit.lammps.potentials.composite import OverlayPotential, ZblPotential
from simkit.lammps.potentials.eam import EamPotential
from simkit.lammps.potentials.generic import LammpsPairPotential
from simkit.lammps.potentials.snap import SnapPotential


class ZblSpec(Schema):
    """ZBL repulsion switched off smoothly between ``inner_A`` and ``outer_A``."""

    inner_A: float = Field(gt=0)
    outer_A: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "ZblSpec":
        if self.inner_A >= self.outer_A:
            raise ValueError(f"inner_A ({self.inner_A}) must be smaller than outer_A ({self.outer_A})")
        return self


class _PotentialSpec(Schema):
    zbl: ZblSpec | None = None

    # Endings of the model file that identify this kind (none: it cannot be named by a file alone).
    file_endings: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def document_for(cls, path: Path, companion: Path | None) -> dict[str, Any]:
        """The spec (as config data) of the model file ``path``; ``companion``: a second file if the kind
        has one (SNAP's param file)."""
        raise NotImplementedError

    def _build_base(self) -> Potential:
        raise NotImplementedError

    def build(self) -> Potential:
        base = self._build_base()
        if self.zbl is None:
            return base
        return OverlayPotential([base, ZblPotential(self.zbl.inner_A, self.zbl.outer_A)])


class SnapSpec(_PotentialSpec):
    """Linear or quadratic SNAP (the param file's quadraticflag decides)."""

    kind: Literal["snap"]
    coeff: ExistingFile
    param: ExistingFile

    file_endings: ClassVar[tuple[str, ...]] = (".snapcoeff",)

    @classmethod
    def document_for(cls, path: Path, companion: Path | None) -> dict[str, Any]:
        param = companion or path.with_suffix(".snapparam")
        if not param.is_file():
            raise ConfigError(f"--potential {path}: no {param.name} next to it; give --param")
        return {"kind": "snap", "coeff": str(path), "param": str(param)}

    def _build_base(self) -> Potential:
        return SnapPotential(self.coeff, self.param)


class AceSpec(_PotentialSpec):
    """ACE from a ``.yace`` file through ``pair_style pace`` (simkit's plugin if LAMMPS lacks it)."""

    kind: Literal["ace"]
    yace: ExistingFile
    activeset: ExistingFile | None = Field(
        default=None, description="`simkit ace activeset` output (.activeset): lets MD grade extrapolation (gamma)")

    file_endings: ClassVar[tuple[str, ...]] = (".yace",)

    @classmethod
    def document_for(cls, path: Path, companion: Path | None) -> dict[str, Any]:
        # an active set next to the model (model.activeset) is picked up, as pacemaker's tools pick up model.asi
        activeset = companion or path.with_suffix(".activeset")
        named = companion is not None or activeset.is_file()  # a named one that is missing is an error later
        return {"kind": "ace", "yace": str(path), **({"activeset": str(activeset)} if named else {})}

    def _build_base(self) -> Potential:
        return AcePotential(self.yace, activeset=self.activeset)


class EamSpec(_PotentialSpec):
    kind: Literal["eam/alloy", "eam/fs"]
    file: ExistingFile

    file_endings: ClassVar[tuple[str, ...]] = (".eam.alloy", ".eam.fs")

    @classmethod
    def document_for(cls, path: Path, companion: Path | None) -> dict[str, Any]:
        return {"kind": "eam/fs" if path.name.endswith(".eam.fs") else "eam/alloy", "file": str(path)}

    def _build_base(self) -> Potential:
        return EamPotential(self.file, style=self.kind)


class LammpsSpec(_PotentialSpec):
    """Any pair style spelled out; ``{species}`` in a coeff line expands to the element list."""

    kind: Literal["lammps"]
    pair_style: str = Field(min_length=1)
    pair_coeff: list[str] = Field(min_length=1)
    elements: list[str] | None = None
    cutoff_A: float = Field(gt=0)
    files: list[ExistingFile] = []

    def _build_base(self) -> Potential:
        return LammpsPairPotential(
            self.pair_style, self.pair_coeff, elements=self.elements, cutoff_A=self.cutoff_A, files=self.files
        )


POTENTIAL_SPECS = (SnapSpec, AceSpec, EamSpec, LammpsSpec)

PotentialSpec = Annotated[Union[POTENTIAL_SPECS], Field(discriminator="kind")]


def spec_document_for_file(path: Path, companion: Path | None = None) -> dict[str, Any] | None:
    """The spec (config data) of a model file, its kind told by the file name; None if no kind claims it."""
    path = Path(path)
    for spec in POTENTIAL_SPECS:
        if path.name.endswith(spec.file_endings):
            return spec.document_for(path, companion)
    return None


def known_file_endings() -> list[str]:
    return [ending for spec in POTENTIAL_SPECS for ending in spec.file_endings]
