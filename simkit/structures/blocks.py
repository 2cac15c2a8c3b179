"""Axis-aligned blocks of a cell: the geometry behind named regions (device layers, heaters, user regions).

Pure geometry, so structures can be cut and checked before any LAMMPS starts;
:mod:`simkit.lammps.regions` turns blocks into LAMMPS regions and groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# Region names become parts of LAMMPS IDs: letters, digits, underscores.
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


Bound = float | None  # None: unbounded along that side


@dataclass(frozen=True)
class Block:
    """An axis-aligned block ``lo_A <= r <= hi_A`` (inclusive, as LAMMPS counts) in box coordinates.

    A bound of None leaves that side open, so the block spans the whole box
    along that axis even when the box changes size.
    """

    name: str
    lo_A: tuple[Bound, Bound, Bound]
    hi_A: tuple[Bound, Bound, Bound]
    frozen: bool = False

    def __post_init__(self):
        if not NAME_PATTERN.match(self.name):
            raise ValueError(f"region name {self.name!r} must start with a letter and use letters, digits, _")
        if any(lo is not None and hi is not None and lo >= hi for lo, hi in zip(self.lo_A, self.hi_A)):
            raise ValueError(f"region {self.name}: every lower bound must be below its upper bound")

    def contains(self, positions_A: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows of ``positions_A`` (N, 3) inside the block."""
        positions_A = np.asarray(positions_A, dtype=float)
        lo = np.array([-np.inf if v is None else v for v in self.lo_A])
        hi = np.array([np.inf if v is None else v for v in self.hi_A])
        return np.all((positions_A >= lo) & (positions_A <= hi), axis=1)

    def describe(self) -> dict:
        return {"lo_A": list(self.lo_A), "hi_A": list(self.hi_A), "frozen": self.frozen}
