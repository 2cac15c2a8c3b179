"""What the text exporters share: per-atom columns taken from a frame, and fast row formatting.

A :class:`PerAtomColumn` describes one per-atom array of a trajectory (the
reader's ``Frame.per_atom``, e.g. ``crystalline`` or ``region``): its kind,
its number of components and how one value is printed. A :class:`FrameLayout`
(velocities, forces, per-atom columns) is fixed by the first exported frame;
every later frame must carry the same, so a file never changes its columns
halfway.

Digits: positions with ``%.10f``, i.e. to 1e-10 Å (far below any physical
meaning, and a 500k-atom frame formats three times faster than with exact
``repr`` and a quarter smaller); every other per-atom float reads back bit for
bit: float64 with ``%.17g``, float32 with ``%.9g``; the few numbers of a
header (cell, time) with ``repr``, exact and short. Rows are formatted in
blocks of :data:`ROWS_PER_BLOCK` atoms, so a 500k-atom frame never exists as
one string.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, TextIO

import numpy as np

from simkit.errors import InputDataError
from simkit.io.h5md_reader import Frame

log = logging.getLogger(__name__)

ROWS_PER_BLOCK = 32768
LENGTH_FORMAT = "%.10f"
FLOAT64_FORMAT = "%.17g"  # 17 significant digits round-trip any float64
_FLOAT32_FORMAT = "%.9g"  # 9 significant digits round-trip any float32
# Both formats (extended XYZ properties, LAMMPS dump headers) split names on ':' and whitespace.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class PerAtomColumn:
    """One per-atom numeric array: ``kind`` is its extended XYZ type letter (R float, I integer, L logical)."""

    name: str
    kind: str
    tail: tuple[int, ...]  # the array's shape after the atom axis: () or (components,)
    value_format: str
    dtype: np.dtype

    @property
    def components(self) -> int:
        return self.tail[0] if self.tail else 1

    @classmethod
    def of(cls, path: Path, name: str, values: np.ndarray, natoms: int) -> PerAtomColumn | None:
        """The column for ``values``, or None (with a warning) for an array that is not one number or vector
        per atom (other tools' H5MD files may store anything under a particles group)."""
        values = np.asarray(values)
        if values.ndim not in (1, 2) or len(values) != natoms or values.dtype.kind not in "fiub":
            log.warning("%s: per-atom data %r (shape %s, dtype %s) not exported: not one number or vector per atom",
                        path, name, values.shape, values.dtype)
            return None
        kind = {"f": "R", "i": "I", "u": "I", "b": "L"}[values.dtype.kind]
        if kind == "R":
            value_format = FLOAT64_FORMAT if values.dtype.itemsize > 4 else _FLOAT32_FORMAT
        else:
            value_format = {"I": "%d", "L": "%s"}[kind]
        return cls(name, kind, values.shape[1:], value_format, values.dtype)

    def vectors(self, values: np.ndarray, true_false: tuple[str, str]) -> list[np.ndarray]:
        """The column's components, each of shape (N,); logical values spelled as ``true_false``."""
        values = np.asarray(values)
        if self.kind == "L":
            values = np.where(values, *true_false)
        return [values] if values.ndim == 1 else [values[:, k] for k in range(values.shape[1])]

    def matches(self, values: np.ndarray, natoms: int) -> bool:
        values = np.asarray(values)
        return values.shape == (natoms, *self.tail) and values.dtype.kind == self.dtype.kind


@dataclass(frozen=True)
class FrameLayout:
    """The optional data an export writes for every frame, fixed by the first exported frame."""

    velocities: bool
    forces: bool
    per_atom: tuple[PerAtomColumn, ...]

    @classmethod
    def of(cls, path: Path, frame: Frame, reserved: frozenset[str], fmt: str) -> FrameLayout:
        """The first frame's layout. A per-atom array the format cannot carry is left out with a warning
        naming it, not refused: the rest of the trajectory is still worth exporting."""
        columns = []
        for name, values in frame.per_atom.items():
            if not _NAME.match(name) or name in reserved:
                why = "would be read as the format's own column" if name in reserved else "is not a plain identifier"
                log.warning("%s: per-atom data %r not exported: its name %s in %s", path, name, why, fmt)
                continue
            column = PerAtomColumn.of(path, name, values, frame.natoms)
            if column is not None:
                columns.append(column)
        return cls(frame.velocities_A_per_ps is not None, frame.forces_eV_per_A is not None, tuple(columns))

    def check(self, path: Path, frame: Frame) -> None:
        """Refuse a frame whose optional data differ from the first exported frame's."""
        for what, wanted, values in (("velocities", self.velocities, frame.velocities_A_per_ps),
                                     ("forces", self.forces, frame.forces_eV_per_A)):
            if wanted != (values is not None):
                raise InputDataError(f"{path}: frame {frame.index}: {'no ' if wanted else ''}{what}, unlike the "
                                     "first exported frame")
        for column in self.per_atom:
            values = frame.per_atom.get(column.name)
            if values is None or not column.matches(values, frame.natoms):
                shown = "missing" if values is None else f"of shape {np.shape(values)}"
                raise InputDataError(f"{path}: frame {frame.index}: per-atom data {column.name!r} is {shown}, "
                                     f"unlike the first exported frame's {column.tail} {column.dtype}")


def export_positions_A(path: Path, frame: Frame, unwrapped: bool) -> np.ndarray:
    """The positions to write: as stored, or unwrapped with the frame's image flags (refused without them)."""
    if not unwrapped:
        return frame.positions_A
    if frame.images is None:
        raise InputDataError(f"{path}: unwrapped positions need periodic image flags and the file stores none; "
                             "export without unwrapping (positions as stored)")
    return frame.unwrapped_positions_A


def write_rows(handle: TextIO, columns: Sequence[tuple[np.ndarray | Sequence, str]], natoms: int) -> None:
    """Write ``natoms`` lines, one value of each (N,) column per line, in blocks of ROWS_PER_BLOCK atoms."""
    line = " ".join(value_format for _, value_format in columns) + "\n"
    for start in range(0, natoms, ROWS_PER_BLOCK):
        stop = min(start + ROWS_PER_BLOCK, natoms)
        # tolist(): formatting Python scalars is several times faster than formatting numpy ones.
        block = [_as_list(values[start:stop]) for values, _ in columns]
        handle.write("".join(line % row for row in zip(*block)))


def _as_list(values) -> list:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def float_text(value: float) -> str:
    """A header number (cell, time): Python's shortest string that reads back exactly (0.1, not 0.1000...01)."""
    return repr(float(value))
