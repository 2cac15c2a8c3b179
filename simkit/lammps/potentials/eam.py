"""EAM in the multi-element setfl formats (``eam/alloy`` and ``eam/fs``)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from simkit.errors import InputDataError
from simkit.lammps.potentials.base import PairCoeff, PairStyle, describe_files, element_map


def read_setfl_header(path: Path) -> tuple[tuple[str, ...], float]:
    """Elements (line 4) and cutoff in Å (last field of line 5) of a setfl file."""
    return _read_setfl(path, body=None)


def check_setfl(path: Path, style: str) -> tuple[tuple[str, ...], float]:
    """Elements and cutoff of a setfl file whose tables are complete and finite (else InputDataError).

    LAMMPS would refuse a short or non-numeric table too, but only once a run has
    started, and it reads NaN without a word.
    """
    return _read_setfl(path, body=style)


def _read_setfl(path: Path, body: str | None) -> tuple[tuple[str, ...], float]:
    """Header of a setfl file; with ``body`` (the pair style) its tables are checked too."""
    try:
        with Path(path).open(encoding="utf-8") as handle:
            lines = handle.readlines() if body else [handle.readline() for _ in range(5)]
    except UnicodeDecodeError as exc:
        raise InputDataError(f"{path}: not a text file (byte {exc.object[exc.start]:#04x} is not UTF-8); "
                             "a setfl EAM file is text") from exc
    head = lines[:5] + [""] * (5 - len(lines[:5]))
    try:
        words = head[3].split()
        count = int(words[0])
        elements = tuple(words[1 : 1 + count])
        grid = head[4].split()
        nrho, nr, cutoff = int(grid[0]), int(grid[2]), float(grid[4])
        drho, dr = float(grid[1]), float(grid[3])
    except (IndexError, ValueError) as exc:
        raise InputDataError(f"{path}: not a setfl EAM file (lines 4-5 must give elements and the "
                             "grid 'Nrho drho Nr dr cutoff')") from exc
    if len(elements) != count or count < 1:
        raise InputDataError(f"{path}:4: says {count} elements but lists {len(elements)}")
    if min(nrho, nr) < 1 or not all(np.isfinite(v) and v > 0 for v in (drho, dr, cutoff)):
        raise InputDataError(f"{path}:5: grid 'Nrho drho Nr dr cutoff' must be positive numbers, "
                             f"got {head[4].strip()!r}")
    if body is not None:
        # Per element: a line 'Z mass a lattice', F(rho) on Nrho points, then rho(r) on Nr points (one
        # function for eam/alloy, one per element for eam/fs); then r*phi(r) for each pair i >= j.
        densities = count if body == "eam/fs" else 1
        cursor = 5
        for element in elements:
            cursor = _skip_blank(lines, cursor)
            if cursor >= len(lines):
                raise InputDataError(f"{path}: the file ends before the tables of element {element}")
            words = lines[cursor].split()
            if len(words) < 2 or not words[0].isdigit() or not _is_float(words[1]):
                raise InputDataError(f"{path}:{cursor + 1}: expected 'Z mass ...' for element {element}, "
                                     f"got {lines[cursor].strip()[:60]!r}")
            cursor = _table(path, lines, cursor + 1, nrho + densities * nr, f"the tables of element {element}")
        _table(path, lines, cursor, count * (count + 1) // 2 * nr, "the pair tables r*phi(r)")
    return elements, cutoff


def _skip_blank(lines: list[str], cursor: int) -> int:
    while cursor < len(lines) and not lines[cursor].split("#", 1)[0].strip():
        cursor += 1
    return cursor


def _table(path: Path, lines: list[str], cursor: int, count: int, what: str) -> int:
    """Read ``count`` numbers from ``lines[cursor:]``; the index of the first line after them."""
    values: list[str] = []
    start = cursor
    while len(values) < count:
        if cursor >= len(lines):
            raise InputDataError(f"{path}: the file ends after {len(values)} of {count} values of {what} "
                                 f"(from line {start + 1})")
        values += lines[cursor].split("#", 1)[0].split()
        cursor += 1
    try:
        numbers = np.array(values[:count], dtype=float)
    except ValueError:
        bad = next(v for v in values[:count] if not _is_float(v))
        raise InputDataError(f"{path}: {bad!r} in {what} (lines {start + 1}-{cursor}) is not a number") from None
    if not np.all(np.isfinite(numbers)):
        raise InputDataError(f"{path}: non-finite value in {what} (lines {start + 1}-{cursor})")
    return cursor


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class EamPotential:
    """``pair_style eam/alloy`` or ``eam/fs`` from one setfl file."""

    def __init__(self, path: Path, style: str = "eam/alloy"):
        if style not in ("eam/alloy", "eam/fs"):
            raise ValueError(f"EAM style must be eam/alloy or eam/fs, got {style!r}")
        self.kind = style
        self.path = Path(path)
        self._elements, self._cutoff = check_setfl(self.path, style)

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
