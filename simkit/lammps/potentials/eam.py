"""EAM in the multi-element setfl formats (``eam/alloy`` and ``eam/fs``)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from simkit.errors import ParseError
from simkit.lammps.potentials.base import PairCoeff, PairStyle, describe_files, element_map


def read_setfl_header(path: Path) -> tuple[tuple[str, ...], float]:
    """Elements (line 4) and cutoff in Å (last field of line 5) of a setfl file."""
    with Path(path).open() as handle:
        head = [handle.readline() for _ in range(5)]
    try:
        words = head[3].split()
        count = int(words[0])
        elements = tuple(words[1 : 1 + count])
        cutoff = float(head[4].split()[4])
    except (IndexError, ValueError) as exc:
        raise ParseError(f"{path}: not a setfl EAM file (lines 4-5 must give elements and cutoff)") from exc
    if len(elements) != count:
        raise ParseError(f"{path}:4: says {count} elements but lists {len(elements)}")
    return elements, cutoff


class EamPotential:
    """``pair_style eam/alloy`` or ``eam/fs`` from one setfl file."""

    def __init__(self, path: Path, style: str = "eam/alloy"):
        if style not in ("eam/alloy", "eam/fs"):
            raise ValueError(f"EAM style must be eam/alloy or eam/fs, got {style!r}")
        self.kind = style
        self.path = Path(path)
        self._elements, self._cutoff = read_setfl_header(self.path)

    @property
    def elements(self) -> tuple[str, ...]:
        return self._elements

    @property
    def cutoff_A(self) -> float:
        return self._cutoff

    def pair_style(self, species: Sequence[str]) -> PairStyle:
        names = element_map(f"EAM potential {self.path.name}", self.elements, species)
        return PairStyle(self.kind, (), (PairCoeff("*", "*", (str(self.path), *names)),))

    def files(self) -> tuple[Path, ...]:
        return (self.path,)

    def describe(self) -> dict:
        return describe_files(self.kind, self.files(), elements=list(self.elements), cutoff_A=self.cutoff_A)
