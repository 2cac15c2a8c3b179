"""Put ASE structures into LAMMPS's box convention and bring vectors back.

LAMMPS needs a right-handed cell with ``a`` along x, ``b`` in the xy plane and
tilts no larger than half the box length. An ASE cell is rotated into that
frame by an orthogonal matrix ``Q`` (``cell @ Q`` is lower triangular); vectors
(positions, forces) transform with ``Q`` and tensors as ``Q^T S Q``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from simkit.errors import InputDataError

# Length used for a non-periodic direction whose ASE cell vector is zero.
_VACUUM_PAD_A = 10.0


@dataclass(frozen=True)
class LammpsBox:
    """A LAMMPS prism and the rotation from the ASE frame into it."""

    lengths_A: tuple[float, float, float]  # (lx, ly, lz)
    tilts_A: tuple[float, float, float]  # (xy, xz, yz)
    origin_A: tuple[float, float, float]
    rotation: np.ndarray  # Q: v_lammps = v_ase @ Q
    pbc: tuple[bool, bool, bool]

    @property
    def triclinic(self) -> bool:
        return any(abs(t) > 1e-12 for t in self.tilts_A)

    @property
    def cell_lammps(self) -> np.ndarray:
        lx, ly, lz = self.lengths_A
        xy, xz, yz = self.tilts_A
        return np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])

    def to_lammps(self, vectors: np.ndarray) -> np.ndarray:
        return np.asarray(vectors, dtype=float) @ self.rotation

    def from_lammps(self, vectors: np.ndarray) -> np.ndarray:
        return np.asarray(vectors, dtype=float) @ self.rotation.T

    def tensor_from_lammps(self, tensor: np.ndarray) -> np.ndarray:
        return self.rotation @ tensor @ self.rotation.T


def _complete_cell(atoms: Atoms, label: str) -> np.ndarray:
    """Give zero-length non-periodic cell vectors a length that encloses the atoms."""
    cell = np.array(atoms.cell, dtype=float)
    positions = atoms.get_positions()
    for axis in range(3):
        if np.linalg.norm(cell[axis]) > 1e-9:
            continue
        if atoms.pbc[axis]:
            raise InputDataError(f"{label}: periodic direction {'xyz'[axis]} has a zero-length cell vector")
        extent = np.ptp(positions[:, axis]) if len(atoms) else 0.0
        unit = np.zeros(3)
        unit[axis] = 1.0
        cell[axis] = unit * (extent + 2 * _VACUUM_PAD_A)
    return cell


def _reduce_tilt(cell: np.ndarray, pbc: tuple[bool, bool, bool]) -> np.ndarray:
    """Add lattice vectors to b and c so LAMMPS's tilt limits hold (same periodic lattice)."""
    cell = cell.copy()
    # Work in the lower-triangular frame values: reduce c by b, then b and c by a.
    for _ in range(3):
        lower = _lower_triangular(cell)
        lx, ly = lower[0, 0], lower[1, 1]
        changed = False
        if pbc[1] and abs(lower[2, 1]) > 0.5 * ly + 1e-9:
            cell[2] -= np.round(lower[2, 1] / ly) * cell[1]
            changed = True
        lower = _lower_triangular(cell)
        for row in (1, 2):
            if pbc[0] and abs(lower[row, 0]) > 0.5 * lx + 1e-9:
                cell[row] -= np.round(lower[row, 0] / lx) * cell[0]
                changed = True
                lower = _lower_triangular(cell)
        if not changed:
            break
    return cell


def _lower_triangular(cell: np.ndarray) -> np.ndarray:
    a, b, c = cell
    lx = np.linalg.norm(a)
    a_hat = a / lx
    xy = float(b @ a_hat)
    ly = float(np.linalg.norm(np.cross(a_hat, b)))
    xz = float(c @ a_hat)
    yz = float((b @ c - xy * xz) / ly)
    lz = float(np.sqrt(max(c @ c - xz**2 - yz**2, 0.0)))
    return np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]])


def lammps_box(atoms: Atoms, label: str = "structure") -> LammpsBox:
    """Compute the LAMMPS prism for ``atoms`` (label names the structure in errors)."""
    pbc = tuple(bool(p) for p in atoms.pbc)
    cell = _complete_cell(atoms, label)
    if np.linalg.det(cell) <= 0:
        raise InputDataError(
            f"{label}: cell is left-handed or singular (det = {np.linalg.det(cell):.3g} Å^3); "
            "LAMMPS needs a right-handed cell, e.g. swap two cell vectors"
        )
    cell = _reduce_tilt(cell, pbc)
    lower = _lower_triangular(cell)
    rotation = np.linalg.solve(cell, lower)
    origin = np.zeros(3)
    if not all(pbc):
        # Centre non-periodic directions on the atoms so the padding is on both sides.
        positions = atoms.get_positions() @ rotation
        for axis in range(3):
            if not pbc[axis] and len(atoms):
                mid = 0.5 * (positions[:, axis].min() + positions[:, axis].max())
                origin[axis] = mid - 0.5 * lower[axis, axis]
    return LammpsBox(
        lengths_A=(lower[0, 0], lower[1, 1], lower[2, 2]),
        tilts_A=(lower[1, 0], lower[2, 0], lower[2, 1]),
        origin_A=tuple(origin),
        rotation=rotation,
        pbc=pbc,
    )


def wrap_positions(positions: np.ndarray, box: LammpsBox) -> tuple[np.ndarray, np.ndarray]:
    """Wrap LAMMPS-frame positions into the box; return (wrapped, integer image flags)."""
    cell = box.cell_lammps
    fractional = np.linalg.solve(cell.T, (positions - np.asarray(box.origin_A)).T).T
    images = np.floor(fractional).astype(np.int64)
    for axis in range(3):
        if not box.pbc[axis]:
            images[:, axis] = 0
    fractional -= images
    wrapped = fractional @ cell + np.asarray(box.origin_A)
    return wrapped, images
