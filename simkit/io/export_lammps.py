"""Write frames as a LAMMPS text dump (``dump atom/custom`` layout), which LAMMPS, OVITO and ASE read.

One snapshot per frame, as the LAMMPS manual (``dump`` command) documents it, in
``units metal`` (Å, ps, Å/ps, eV/Å)::

    ITEM: UNITS / metal            (first snapshot; what `dump_modify units yes` writes)
    ITEM: TIME / 0.1               (ps; left out when the source has no times)
    ITEM: TIMESTEP / 100
    ITEM: NUMBER OF ATOMS / N
    ITEM: BOX BOUNDS xy xz yz pp pp ff      (or "pp pp pp" for an orthogonal box)
    xlo_bound xhi_bound xy / ylo_bound yhi_bound xz / zlo_bound zhi_bound yz
    ITEM: ATOMS id type element x y z ix iy iz vx vy vz fx fy fz <name> <name>[1] ...

Boxes: LAMMPS's restricted triclinic box has ``a`` along x, ``b`` in the xy
plane and ``c`` with a positive z component (a lower-triangular cell, rows
``(lx,0,0) (xy,ly,0) (xz,yz,lz)``, origin 0 like simkit's cells). Any other
cell is rotated into that frame (:func:`restricted_triclinic`) and positions,
velocities and forces with it; fractional coordinates, distances and image
flags are unchanged. Per-atom arrays are written as stored (three components
need not be a vector in space). A cell that is already lower triangular is
written as it is. A left-handed or singular cell (e.g. an open axis stored
without extent) has no such box and is refused. An axis the H5MD file calls
open is ``ff`` (fixed, non-periodic).

:mod:`simkit.lammps.structure` makes the same rotation for a simulation, on a
floor that ``io`` may not import; it also shortens tilts by adding lattice
vectors, which an export must not do: the cell vectors, and the image flags
counted along them, are kept as stored.

Atoms: ``id`` is the atom's index in the file plus 1; ``type`` numbers the
species by atomic number (lightest first: the same numbering for every file
with the same species, whatever the atom order); ``element`` names them, so
OVITO and ASE name the types. Positions are wrapped (``x y z`` with the image
flags ``ix iy iz`` when the file stores them), or unwrapped (``xu yu zu``,
no image flags: OVITO would otherwise unwrap them twice).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TextIO

import numpy as np
from ase.data import chemical_symbols

from simkit.errors import InputDataError
from simkit.io.export_columns import (
    FLOAT64_FORMAT,
    LENGTH_FORMAT,
    FrameLayout,
    export_positions_A,
    float_text,
    write_rows,
)
from simkit.io.h5md_reader import Frame

NAME = "a LAMMPS dump"
# Keywords of `dump custom`: a per-atom array with one of these names would be read as that quantity.
RESERVED = frozenset({"id", "mol", "proc", "procp1", "type", "element", "mass", "x", "y", "z", "xs", "ys", "zs",
                      "xu", "yu", "zu", "xsu", "ysu", "zsu", "ix", "iy", "iz", "vx", "vy", "vz", "fx", "fy", "fz"})
# A cell with less volume cannot span a LAMMPS box (an open axis stored without extent, collinear vectors).
_MIN_VOLUME_A3 = 1e-9


def restricted_triclinic(cell_A: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(lower-triangular cell, rotation R) with ``cell_A @ R`` equal to the first; None for a left-handed cell.

    R's columns are LAMMPS's axes in the old frame: x along ``a``, y along the part
    of ``b`` normal to ``a``, z along ``a x b``. Positions rotate as ``positions @ R``.
    """
    a, b, _ = cell_A
    x = a / np.linalg.norm(a)
    z = np.cross(a, b)
    z /= np.linalg.norm(z)
    rotation = np.column_stack([x, np.cross(z, x), z])
    lower = cell_A @ rotation
    if lower[2, 2] <= 0.0:
        return None
    return np.tril(lower), rotation  # the upper triangle is rounding noise around 0


class LammpsDumpFrameWriter:
    """Writes one snapshot at a time; the columns are fixed by the first frame written."""

    def __init__(self, source: Path, *, unwrapped: bool):
        self.source = source
        self.unwrapped = unwrapped
        self._layout: FrameLayout | None = None
        self._static: list[tuple[np.ndarray | list, str]] = []  # id, type, element: the same in every frame
        self._images = False

    def _start(self, frame: Frame) -> None:
        self._layout = FrameLayout.of(self.source, frame, RESERVED, NAME)
        species = sorted(set(frame.numbers.tolist()))
        types = np.searchsorted(species, frame.numbers) + 1
        self._static = [(np.arange(1, frame.natoms + 1), "%d"), (types, "%d"),
                        (np.asarray(chemical_symbols)[frame.numbers].tolist(), "%s")]
        self._images = frame.images is not None and not self.unwrapped

    def write(self, handle: TextIO, frame: Frame) -> None:
        first = self._layout is None
        if first:
            self._start(frame)
        layout = self._layout
        layout.check(self.source, frame)
        positions = export_positions_A(self.source, frame, self.unwrapped)
        cell, rotation = self._box(frame)
        names = ["id", "type", "element", *(("xu", "yu", "zu") if self.unwrapped else ("x", "y", "z"))]
        columns = [*self._static, *_xyz(positions, rotation, LENGTH_FORMAT)]
        if self._images:
            if frame.images is None:
                raise InputDataError(f"{self.source}: frame {frame.index}: no image flags, unlike the first "
                                     "exported frame")
            names += ["ix", "iy", "iz"]
            columns += [(frame.images[:, axis], "%d") for axis in range(3)]
        if layout.velocities:
            names += ["vx", "vy", "vz"]
            columns += _xyz(frame.velocities_A_per_ps, rotation, FLOAT64_FORMAT)
        if layout.forces:
            names += ["fx", "fy", "fz"]
            columns += _xyz(frame.forces_eV_per_A, rotation, FLOAT64_FORMAT)
        for column in layout.per_atom:
            parts = column.vectors(frame.per_atom[column.name], ("1", "0"))
            names += [column.name] if not column.tail else [f"{column.name}[{k + 1}]" for k in range(len(parts))]
            columns += [(part, column.value_format) for part in parts]
        head = "ITEM: UNITS\nmetal\n" if first else ""
        if math.isfinite(frame.time_ps):
            head += f"ITEM: TIME\n{float_text(frame.time_ps)}\n"
        head += f"ITEM: TIMESTEP\n{frame.step}\nITEM: NUMBER OF ATOMS\n{frame.natoms}\n"
        handle.write(head + _box_bounds(cell, frame.pbc) + f"ITEM: ATOMS {' '.join(names)}\n")
        write_rows(handle, columns, frame.natoms)

    def _box(self, frame: Frame) -> tuple[np.ndarray, np.ndarray | None]:
        """The frame's LAMMPS cell and the rotation into it (None when the cell is lower triangular already)."""
        cell = np.asarray(frame.cell_A, dtype=float)
        if abs(np.linalg.det(cell)) < _MIN_VOLUME_A3:
            raise InputDataError(f"{self.source}: frame {frame.index}: the cell {cell.tolist()} has no volume (an "
                                 "open axis stored without extent?); a LAMMPS box needs three independent vectors")
        if not np.any(np.triu(cell, 1)) and np.all(np.diag(cell) > 0):
            return cell, None
        converted = restricted_triclinic(cell)
        if converted is None:
            raise InputDataError(f"{self.source}: frame {frame.index}: the cell {cell.tolist()} is left-handed; "
                                 "LAMMPS boxes are right-handed, so it cannot be written as a dump")
        return converted


def _xyz(vectors: np.ndarray, rotation: np.ndarray | None, value_format: str) -> list[tuple[np.ndarray, str]]:
    rotated = vectors if rotation is None else vectors @ rotation
    return [(rotated[:, axis], value_format) for axis in range(3)]


def _box_bounds(cell: np.ndarray, pbc: tuple[bool, bool, bool]) -> str:
    """The ``ITEM: BOX BOUNDS`` block of a lower-triangular cell with origin 0 (LAMMPS manual, dump)."""
    lx, ly, lz = np.diag(cell)
    xy, xz, yz = cell[1, 0], cell[2, 0], cell[2, 1]
    flags = " ".join("pp" if periodic else "ff" for periodic in pbc)
    if xy == 0.0 and xz == 0.0 and yz == 0.0:
        rows = [(0.0, lx), (0.0, ly), (0.0, lz)]
        return f"ITEM: BOX BOUNDS {flags}\n" + "".join(f"{float_text(lo)} {float_text(hi)}\n" for lo, hi in rows)
    # A triclinic dump gives the bounding box of the tilted cell, then each tilt factor.
    rows = [(min(0.0, xy, xz, xy + xz), lx + max(0.0, xy, xz, xy + xz), xy),
            (min(0.0, yz), ly + max(0.0, yz), xz),
            (0.0, lz, yz)]
    return (f"ITEM: BOX BOUNDS xy xz yz {flags}\n"
            + "".join(f"{float_text(lo)} {float_text(hi)} {float_text(tilt)}\n" for lo, hi, tilt in rows))
