"""Phase-change memory cells: a crystal cut to a box of given size, with regions along z.

The device is periodic in x, y and z. Along z it is divided into

* ``frozen``: a slab of ``frozen_slab_nm`` at the bottom whose atoms never move,
  so heat cannot leave the top of the cell through the periodic boundary and
  reach the bottom (and the slab stays a crystalline template);
* ``heater``: the next ``heater_nm``, where heat pulses go in;
* ``cell``: everything above, the active cell.

Region boundaries are placed in the middle of the gap between atomic planes
nearest to the requested thickness, so no atom sits on a boundary; the atoms
are shifted so that no plane sits on a periodic boundary either. Regions that
should be amorphous before cycling (heat barriers) are made by an
``amorphise`` stage of the protocol, which melt-quenches only their atoms.

Example (the thesis cell: 20 x 20 x 40 nm^3 of rocksalt GST, 532,980 atoms)::

    device:
      crystal: {file: GST225_rocksalt.cif}
      size_nm: [20, 20, 40]
      frozen_slab_nm: 1.0
      heater_nm: 5.0
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from ase.build import make_supercell
from pydantic import Field, model_validator

from simkit.config.schema import Schema
from simkit.errors import InputDataError
from simkit.structures.blocks import Block
from simkit.structures.crystals import remove_random_sites
from simkit.structures.spec import StructureSpec, all_vacancies, load_structure
from simkit.units import A_PER_NM

# Integer coefficients tried when looking for cell vectors along x, y and z.
_MAX_COEFFICIENT = 4
_ALIGNMENT_TOLERANCE = 1e-6  # sine of the largest accepted angle to an axis
_PLANE_TOLERANCE_A = 0.05  # atoms closer than this in z belong to one plane


class DeviceSpec(Schema):
    """A device cut from ``crystal`` (any file ASE reads, e.g. CIF, or a built crystal)."""

    crystal: StructureSpec
    size_nm: tuple[float, float, float] = Field(description="target box lengths along x, y, z (nm)")
    frozen_slab_nm: float = Field(default=1.0, ge=0, description="thickness of the frozen slab at z = 0 (nm)")
    heater_nm: float = Field(gt=0, description="thickness of the heater above the frozen slab (nm)")

    @model_validator(mode="after")
    def _fits(self) -> "DeviceSpec":
        if min(self.size_nm) <= 0:
            raise ValueError(f"size_nm must be positive, got {list(self.size_nm)}")
        if self.frozen_slab_nm + self.heater_nm >= self.size_nm[2]:
            raise ValueError(
                f"frozen_slab_nm + heater_nm = {self.frozen_slab_nm + self.heater_nm} nm leaves no active cell "
                f"in size_nm z = {self.size_nm[2]} nm"
            )
        return self


@dataclass
class Device:
    """The built cell and its regions (box coordinates, Å)."""

    atoms: Atoms
    regions: list[Block]
    supercell: np.ndarray  # integer matrix: device cell = supercell @ crystal cell
    notes: list[str] = field(default_factory=list)  # worth a warning (the caller logs them once)

    def describe(self) -> dict:
        lengths = np.diag(np.asarray(self.atoms.cell))
        return {
            "natoms": len(self.atoms),
            "size_nm": [float(v / A_PER_NM) for v in lengths],
            "supercell": self.supercell.tolist(),
            "regions": {b.name: b.describe() for b in self.regions},
        }


def orthogonal_cell(atoms: Atoms, label: str = "crystal") -> tuple[Atoms, np.ndarray]:
    """The smallest supercell of ``atoms`` whose cell vectors lie along x, y and z.

    Searches integer combinations of the cell vectors (coefficients up to 4)
    for one along each axis; hexagonal and rhombohedral settings have one.
    Returns the supercell with an exactly diagonal cell and the integer matrix.
    """
    cell = np.asarray(atoms.cell, dtype=float)
    if abs(np.linalg.det(cell)) < 1e-9:
        raise InputDataError(f"{label}: the crystal has no 3D periodic cell")
    candidates = np.array(
        [n for n in itertools.product(range(-_MAX_COEFFICIENT, _MAX_COEFFICIENT + 1), repeat=3) if any(n)]
    )
    vectors = candidates @ cell
    lengths = np.linalg.norm(vectors, axis=1)
    rows = []
    for axis in range(3):
        along = vectors[:, axis]
        sine = np.sqrt(np.maximum(lengths**2 - along**2, 0.0)) / lengths
        ok = (along > 0) & (sine < _ALIGNMENT_TOLERANCE)
        if not ok.any():
            raise InputDataError(
                f"{label}: no combination of cell vectors with coefficients up to {_MAX_COEFFICIENT} lies along "
                f"{'xyz'[axis]}; give the crystal in an orthorhombic or hexagonal setting"
            )
        best = np.flatnonzero(ok)[np.argmin(lengths[ok])]
        rows.append(candidates[best])
    matrix = np.array(rows, dtype=int)
    if round(np.linalg.det(matrix)) <= 0:
        raise InputDataError(f"{label}: the axis-aligned vectors found do not form a right-handed cell")
    supercell = make_supercell(atoms, matrix) if not np.array_equal(matrix, np.eye(3, dtype=int)) else atoms.copy()
    fractional = supercell.get_scaled_positions(wrap=True)
    diagonal = np.diag(np.linalg.norm(np.asarray(supercell.cell), axis=1))
    supercell.set_cell(diagonal)
    supercell.set_scaled_positions(fractional)
    supercell.pbc = True
    return supercell, matrix


def _planes(values_A: np.ndarray) -> np.ndarray:
    """Distinct atomic plane positions (sorted) among ``values_A``."""
    ordered = np.sort(values_A)
    keep = np.concatenate([[True], np.diff(ordered) > _PLANE_TOLERANCE_A])
    return ordered[keep]


def _centre_planes(atoms: Atoms) -> None:
    """Translate atoms so the planes nearest each periodic boundary are equally far from it."""
    lengths = np.diag(np.asarray(atoms.cell))
    positions = atoms.get_positions()
    for axis in range(3):
        planes = _planes(np.mod(positions[:, axis], lengths[axis]))
        gaps = np.diff(np.concatenate([planes, [planes[0] + lengths[axis]]]))
        # The widest gap goes across the boundary; centre the boundary in it.
        k = int(np.argmax(gaps))
        boundary = planes[k] + 0.5 * gaps[k]
        positions[:, axis] = np.mod(positions[:, axis] - boundary, lengths[axis])
    atoms.set_positions(positions)


def _gap_nearest(planes_A: np.ndarray, target_A: float) -> float:
    """Midpoint between consecutive planes nearest to ``target_A``."""
    midpoints = 0.5 * (planes_A[1:] + planes_A[:-1])
    return float(midpoints[np.argmin(np.abs(midpoints - target_A))])


def build_device(spec: DeviceSpec, rng: np.random.Generator | None = None) -> Device:
    """Cut the device of ``spec`` from its crystal; regions ``frozen`` (if thicker than 0), ``heater``, ``cell``."""
    # Vacancies go into the finished cell: placed in the unit cell they would repeat periodically.
    crystal = load_structure(spec.crystal, rng, with_vacancies=False)
    unit, matrix = orthogonal_cell(crystal, label=str(spec.crystal.file or "crystal"))
    unit_lengths = np.diag(np.asarray(unit.cell))
    target_A = np.asarray(spec.size_nm) * A_PER_NM
    repeat = np.maximum(1, np.rint(target_A / unit_lengths)).astype(int)
    atoms = remove_random_sites(unit.repeat(tuple(int(r) for r in repeat)), all_vacancies(spec.crystal), rng)
    _centre_planes(atoms)
    lengths = np.diag(np.asarray(atoms.cell))
    off = np.abs(lengths - target_A) / target_A
    notes = []
    if off.max() > 0.05:
        notes.append(
            f"device box {np.round(lengths / A_PER_NM, 3).tolist()} nm differs from size_nm {list(spec.size_nm)} "
            f"by up to {100 * off.max():.0f}% (whole unit cells of {np.round(unit_lengths, 3).tolist()} Å)"
        )
    planes = _planes(atoms.positions[:, 2])
    regions: list[Block] = []
    bottom = 0.0
    if spec.frozen_slab_nm > 0:
        bottom = _gap_nearest(planes, spec.frozen_slab_nm * A_PER_NM)
        regions.append(Block("frozen", (None, None, None), (None, None, bottom), frozen=True))
    top = _gap_nearest(planes, bottom + spec.heater_nm * A_PER_NM)
    if top <= bottom:
        raise InputDataError(f"device: heater_nm = {spec.heater_nm} is thinner than one atomic plane")
    regions.append(Block("heater", (None, None, bottom), (None, None, top)))
    regions.append(Block("cell", (None, None, top), (None, None, None)))
    full = np.asarray(matrix) * repeat[:, None]
    return Device(atoms=atoms, regions=regions, supercell=full, notes=notes)
