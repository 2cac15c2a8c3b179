"""Potentials as config data: a tagged union keyed by ``kind``.

Each kind is one small model with a ``build()`` that returns a
:class:`~simkit.lammps.potentials.base.Potential`. Adding a kind means adding a
model here (or in its own module) and one entry in :data:`POTENTIAL_SPECS`.
Any kind may carry ``zbl: {inner_A, outer_A}`` to overlay ZBL repulsion.

Example::

    potential:
      kind: snap
      coeff: lammps:Si_Zuo_JPCA2020.snapcoeff   # 'lammps:' = files shipped with LAMMPS
      param: lammps:Si_Zuo_JPCA2020.snapparam
      zbl: {inner_A: 1.5, outer_A: 2.2}
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from simkit.config.schema import ExistingFile, Schema
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

    def _build_base(self) -> Potential:
        return SnapPotential(self.coeff, self.param)


class AceSpec(_PotentialSpec):
    """ACE from a ``.yace`` file through ``pair_style pace`` (simkit's plugin if LAMMPS lacks it)."""

    kind: Literal["ace"]
    yace: ExistingFile

    def _build_base(self) -> Potential:
        from simkit.lammps.potentials.ace import AcePotential

        return AcePotential(self.yace)


class EamSpec(_PotentialSpec):
    kind: Literal["eam/alloy", "eam/fs"]
    file: ExistingFile

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
