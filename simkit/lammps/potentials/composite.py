"""Potentials built from others: ZBL short-range repulsion and hybrid/overlay sums.

ML potentials are trained on near-equilibrium data and can be arbitrarily wrong
when two atoms are pushed close together; overlaying the universal ZBL screened
nuclear repulsion (switched off between ``inner_A`` and ``outer_A``) keeps MD at
high temperature from collapsing atoms onto each other.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

from ase.data import atomic_numbers

from simkit.errors import InputDataError
from simkit.lammps.potentials.base import PairCoeff, PairStyle, Potential


class ZblPotential:
    """``pair_style zbl inner outer`` with nuclear charges from the species' element names."""

    kind = "zbl"

    def __init__(self, inner_A: float, outer_A: float):
        if not 0 < inner_A < outer_A:
            raise ValueError(f"ZBL needs 0 < inner_A < outer_A, got {inner_A}, {outer_A}")
        self.inner_A = float(inner_A)
        self.outer_A = float(outer_A)

    @property
    def elements(self) -> None:
        return None

    @property
    def cutoff_A(self) -> float:
        return self.outer_A

    def pair_style(self, species: Sequence[str]) -> PairStyle:
        charges = []
        for name in species:
            if name not in atomic_numbers:
                raise InputDataError(f"ZBL needs real element names, got species {name!r}")
            charges.append(atomic_numbers[name])
        coeffs = tuple(
            PairCoeff(str(i + 1), str(j + 1), (str(charges[i]), str(charges[j])))
            for i in range(len(species))
            for j in range(i, len(species))
        )
        return PairStyle("zbl", (repr(self.inner_A), repr(self.outer_A)), coeffs)

    def files(self) -> tuple[Path, ...]:
        return ()

    def describe(self) -> dict:
        return {"kind": self.kind, "inner_A": self.inner_A, "outer_A": self.outer_A}


class OverlayPotential:
    """Sum of several potentials through ``pair_style hybrid/overlay``."""

    kind = "hybrid/overlay"

    def __init__(self, components: Sequence[Potential]):
        if len(components) < 2:
            raise ValueError("an overlay needs at least two components")
        self.components = tuple(components)

    @property
    def elements(self) -> tuple[str, ...] | None:
        sets = [set(c.elements) for c in self.components if c.elements is not None]
        if not sets:
            return None
        common = set.intersection(*sets)
        first = next(c.elements for c in self.components if c.elements is not None)
        return tuple(el for el in first if el in common)

    @property
    def cutoff_A(self) -> float:
        return max(c.cutoff_A for c in self.components)

    def pair_style(self, species: Sequence[str]) -> PairStyle:
        styles = [c.pair_style(species) for c in self.components]
        if any(s.style.startswith("hybrid") for s in styles):
            raise ValueError("nested hybrid pair styles are not supported")
        repeats = Counter(s.style for s in styles)
        seen: Counter[str] = Counter()
        style_args: list[str] = []
        coeffs: list[PairCoeff] = []
        requires: list[str] = []
        for sub in styles:
            seen[sub.style] += 1
            # hybrid needs an instance number when a sub-style appears more than once
            tag = (sub.style, str(seen[sub.style])) if repeats[sub.style] > 1 else (sub.style,)
            style_args += [sub.style, *sub.style_args]
            coeffs += [PairCoeff(c.i, c.j, (*tag, *c.args)) for c in sub.coeffs]
            requires += list(sub.requires) + [sub.style]
        return PairStyle("hybrid/overlay", tuple(style_args), tuple(coeffs), tuple(dict.fromkeys(requires)))

    def files(self) -> tuple[Path, ...]:
        return tuple(f for c in self.components for f in c.files())

    def describe(self) -> dict:
        return {"kind": self.kind, "components": [c.describe() for c in self.components]}
