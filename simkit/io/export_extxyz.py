"""Write frames as extended XYZ, the text format that OVITO, ASE and MDAnalysis all read.

Each frame is an atom count, a comment line of ``key=value`` pairs and one line
per atom (the format as ASE and OVITO document it)::

    Lattice="ax ay az bx by bz cx cy cz" Properties=species:S:1:pos:R:3:velo:R:3:forces:R:3:<name>:R:1
    Time=0.1 time_unit=ps Step=100 pbc="T T F"

- ``Lattice``: the cell vectors (rows of ``Frame.cell_A``), in Å;
- ``pbc``: ``F`` on an axis the H5MD file calls open (boundary ``none``);
- ``Time`` in ps, with ``time_unit=ps`` so that simkit's own extended XYZ
  reader takes the time back (a bare ``time`` is not guessed there); left out
  when the source has no times; ``Step`` the MD step;
- ``velo`` (Å/ps, the unit of the H5MD file): the column name OVITO maps to
  its Velocity property (``vel`` would become an anonymous one); ASE keeps it
  as a plain array, unconverted;
- ``forces`` (eV/Å): ASE puts it on a calculator, OVITO maps it to Force;
- then one column per per-atom array (``crystalline``, ``region``, ...).

Positions are written to 1e-10 Å, every other number to read back bit for bit
(see :mod:`simkit.io.export_columns`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TextIO

import numpy as np
from ase.data import chemical_symbols

from simkit.io.export_columns import (
    FLOAT64_FORMAT,
    LENGTH_FORMAT,
    FrameLayout,
    export_positions_A,
    float_text,
    write_rows,
)
from simkit.io.h5md_reader import Frame

NAME = "extended XYZ"
# Columns written here, and names ASE reads as something else (atomic numbers, positions, constraints).
RESERVED = frozenset({"species", "pos", "velo", "forces", "Z", "numbers", "positions", "symbols", "move_mask"})


class ExtxyzFrameWriter:
    """Writes one frame at a time; the columns are fixed by the first frame written."""

    def __init__(self, source: Path, *, unwrapped: bool):
        self.source = source
        self.unwrapped = unwrapped
        self._layout: FrameLayout | None = None
        self._symbols: list[str] = []

    def write(self, handle: TextIO, frame: Frame) -> None:
        if self._layout is None:
            self._layout = FrameLayout.of(self.source, frame, RESERVED, NAME)
            self._symbols = np.asarray(chemical_symbols)[frame.numbers].tolist()
        layout = self._layout
        layout.check(self.source, frame)
        positions = export_positions_A(self.source, frame, self.unwrapped)
        properties = ["species:S:1", "pos:R:3"]
        columns = [(self._symbols, "%s"), *_xyz(positions, LENGTH_FORMAT)]
        if layout.velocities:
            properties.append("velo:R:3")
            columns += _xyz(frame.velocities_A_per_ps, FLOAT64_FORMAT)
        if layout.forces:
            properties.append("forces:R:3")
            columns += _xyz(frame.forces_eV_per_A, FLOAT64_FORMAT)
        for column in layout.per_atom:
            properties.append(f"{column.name}:{column.kind}:{column.components}")
            columns += [(values, column.value_format)
                        for values in column.vectors(frame.per_atom[column.name], ("T", "F"))]
        handle.write(f"{frame.natoms}\n{_comment(frame, ':'.join(properties))}\n")
        write_rows(handle, columns, frame.natoms)


def _xyz(vectors: np.ndarray, value_format: str) -> list[tuple[np.ndarray, str]]:
    return [(vectors[:, axis], value_format) for axis in range(3)]


def _comment(frame: Frame, properties: str) -> str:
    lattice = " ".join(float_text(v) for v in np.asarray(frame.cell_A, dtype=float).ravel())
    pbc = " ".join("T" if periodic else "F" for periodic in frame.pbc)
    # A source without times (extended XYZ without time keys) gives NaN: say nothing rather than "nan".
    time = f" Time={float_text(frame.time_ps)} time_unit=ps" if math.isfinite(frame.time_ps) else ""
    return f'Lattice="{lattice}" Properties={properties}{time} Step={frame.step} pbc="{pbc}"'
