"""Any LAMMPS pair style the user spells out (tersoff, sw, meam, mliap, ...).

The config gives the ``pair_style`` arguments and ``pair_coeff`` lines; the token
``{species}`` in a coeff line is replaced by the system's element names in type
order, so one definition serves any species order.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Sequence

from simkit.lammps.potentials.base import PairCoeff, PairStyle, describe_files, element_map

SPECIES_TOKEN = "{species}"


class LammpsPairPotential:
    kind = "lammps"

    def __init__(
        self,
        pair_style: str,
        pair_coeff: Sequence[str],
        *,
        elements: Sequence[str] | None,
        cutoff_A: float,
        files: Sequence[Path] = (),
    ):
        words = shlex.split(pair_style)
        if not words:
            raise ValueError("pair_style must not be empty")
        self.style, self.style_args = words[0], tuple(words[1:])
        self.coeff_lines = [shlex.split(line) for line in pair_coeff]
        for line in self.coeff_lines:
            if len(line) < 2:
                raise ValueError(f"pair_coeff line needs 'I J args...', got {' '.join(line)!r}")
        self._elements = tuple(elements) if elements is not None else None
        self._cutoff_A = float(cutoff_A)
        self._files = tuple(Path(f) for f in files)

    @property
    def elements(self) -> tuple[str, ...] | None:
        return self._elements

    @property
    def cutoff_A(self) -> float:
        return self._cutoff_A

    def pair_style(self, species: Sequence[str]) -> PairStyle:
        names = element_map(f"pair_style {self.style}", self._elements, species)
        coeffs = []
        for i, j, *args in self.coeff_lines:
            expanded: list[str] = []
            for arg in args:
                expanded.extend(names if arg == SPECIES_TOKEN else [arg])
            coeffs.append(PairCoeff(i, j, tuple(expanded)))
        return PairStyle(self.style, self.style_args, tuple(coeffs))

    def files(self) -> tuple[Path, ...]:
        return self._files

    def describe(self) -> dict:
        return describe_files(
            self.kind, self._files, pair_style=" ".join([self.style, *self.style_args]),
            pair_coeff=[" ".join(line) for line in self.coeff_lines],
        )
