"""Read H5MD trajectories lazily: frames one at a time, or blocks of atoms over frames.

:class:`H5mdTrajectory` never loads a whole trajectory. Iterating yields
:class:`Frame` objects read on demand; :meth:`H5mdTrajectory.positions` reads a
block of frames x atoms (what an MSD over a long run needs). It reads simkit's
files (see :mod:`simkit.io.h5md_layout`), including files left by a killed
writer (only committed frames are used), and H5MD files from other tools that
store ``particles/<group>/position`` with lengths in Å or nm and times in ps,
fs or ns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.data import chemical_symbols

from simkit.errors import InputDataError
from simkit.io import h5md_layout as L
from simkit.io.frame_sequence import FrameSequence
from simkit.units import A_PER_PS_PER_ASE_VELOCITY

_LENGTH_TO_A = {"Angstrom": 1.0, "angstrom": 1.0, "A": 1.0, "nm": 10.0, "pm": 0.01}
_TIME_TO_PS = {"ps": 1.0, "fs": 1.0e-3, "ns": 1.0e3}
_READ_CACHE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Frame:
    """One frame (ASE frame, the file's atom order). Positions as stored (wrapped by simkit)."""

    index: int
    step: int
    time_ps: float
    positions_A: np.ndarray  # (N, 3)
    cell_A: np.ndarray  # (3, 3), rows are cell vectors
    pbc: tuple[bool, bool, bool]
    numbers: np.ndarray  # (N,) atomic numbers
    images: np.ndarray | None = None  # (N, 3) int
    velocities_A_per_ps: np.ndarray | None = None
    forces_eV_per_A: np.ndarray | None = None
    per_atom: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def natoms(self) -> int:
        return len(self.positions_A)

    @property
    def symbols(self) -> list[str]:
        return [chemical_symbols[z] for z in self.numbers]

    @property
    def volume_A3(self) -> float:
        return float(abs(np.linalg.det(self.cell_A)))

    @property
    def unwrapped_positions_A(self) -> np.ndarray:
        """Positions plus image shifts (equal to the stored positions when the file has no images)."""
        if self.images is None:
            return self.positions_A
        return self.positions_A + self.images @ self.cell_A

    def to_atoms(self, unwrapped: bool = False) -> Atoms:
        """ASE Atoms with cell, pbc, velocities and (as a calculator) forces when stored."""
        atoms = Atoms(
            numbers=self.numbers,
            positions=self.unwrapped_positions_A if unwrapped else self.positions_A,
            cell=self.cell_A,
            pbc=self.pbc,
        )
        if self.velocities_A_per_ps is not None:
            atoms.set_velocities(self.velocities_A_per_ps / A_PER_PS_PER_ASE_VELOCITY)
        if self.forces_eV_per_A is not None:
            atoms.calc = SinglePointCalculator(atoms, forces=self.forces_eV_per_A)
        for name, values in self.per_atom.items():
            atoms.set_array(name, values)
        atoms.info.update(step=self.step, time_ps=self.time_ps)
        return atoms


class H5mdTrajectory(FrameSequence):
    """A read-only view of an H5MD file. Use as a context manager.

    ``len(traj)`` frames; ``traj[i]`` a :class:`Frame`; ``traj[a:b:c]`` or
    ``traj.frames(...)`` iterate lazily; ``traj.select(start_ps, stop_ps)``
    picks frame indices by time.
    """

    def __init__(self, path: str | Path, group: str | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise InputDataError(f"{self.path}: trajectory file not found")
        self._file = _open(self.path)
        try:
            self._setup(group)
        except OSError as exc:  # HDF5 could open the file but not read its metadata
            self._file.close()
            raise self._read_error("particles", exc) from exc
        except Exception:
            self._file.close()
            raise

    def _setup(self, group: str | None) -> None:
        f = self._file
        particles = f.get("particles")
        if particles is None or not len(particles):
            raise InputDataError(f"{self.path}: not an H5MD trajectory (no /particles group)")
        name = group or (L.PARTICLES_GROUP if L.PARTICLES_GROUP in particles else next(iter(particles)))
        if name not in particles:
            raise InputDataError(f"{self.path}: no particles group {name!r} (has {sorted(particles)})")
        self._particles = particles[name]
        if "position" not in self._particles:
            raise InputDataError(f"{self.path}: particles/{name} has no position data")
        position = self._particles["position"]
        for key in ("value", "step"):
            if not isinstance(position, h5py.Group) or not isinstance(position.get(key), h5py.Dataset):
                raise InputDataError(f"{self.path}: particles/{name}/position has no '{key}' dataset")
        self._length_scale = _scale(position["value"], _LENGTH_TO_A, "length", self.path)
        self._time_scale = _scale(position["time"], _TIME_TO_PS, "time", self.path) if "time" in position else 1.0
        self.natoms = int(self._shape_of("position/value", (None, None, 3))[1])
        for key in ("image", "velocity", "force"):
            if key in self._particles:
                self._shape_of(f"{key}/value", (None, self.natoms, 3))
        self.numbers = self._species()
        self.pbc = self._boundary()
        self._check_box()
        self.steps, self.times_ps = self._clock()
        self._has_images = "image" in self._particles
        self.per_atom_names = tuple(
            k for k in self._particles
            if isinstance(self._particles[k], h5py.Group) and k not in L.RESERVED_NAMES and "value" in self._particles[k]
        )

    def _shape_of(self, name: str, expected: tuple) -> tuple[int, ...]:
        """The shape of dataset ``particles/<group>/name``; None in ``expected`` matches any length."""
        dataset = self._particles.get(name)
        if not isinstance(dataset, h5py.Dataset):
            raise InputDataError(f"{self.path}: {self._particles.name}/{name} is not a dataset")
        shape = dataset.shape
        if len(shape) != len(expected) or any(e is not None and e != n for e, n in zip(expected, shape)):
            wanted = ", ".join(str(e) if e is not None else ("frames" if k == 0 else "atoms")
                               for k, e in enumerate(expected))
            raise InputDataError(f"{self.path}: {self._particles.name}/{name} has shape {shape}, expected ({wanted})")
        return shape

    def _species(self) -> np.ndarray:
        if "species" in self._particles and isinstance(self._particles["species"], h5py.Dataset):
            species = self._particles["species"]
            values = np.asarray(species[...] if species.ndim == 1 else species[0])
            if values.shape != (self.natoms,):
                raise InputDataError(f"{self.path}: {species.name} holds {values.size} atomic numbers for "
                                     f"{self.natoms} atoms")
            known = len(chemical_symbols)
            if values.dtype.kind not in "iu" or values.min(initial=0) < 0 or values.max(initial=0) >= known:
                raise InputDataError(f"{self.path}: {species.name} holds values that are not atomic numbers")
            return values.astype(np.int32)
        return np.zeros(self.natoms, dtype=np.int32)

    def _check_box(self) -> None:
        edges = self._particles.get("box/edges")
        if isinstance(edges, h5py.Group):
            if "value" not in edges:
                raise InputDataError(f"{self.path}: {edges.name} has no 'value' dataset")
            shape = edges["value"].shape
            if shape[1:] not in ((3,), (3, 3)):
                raise InputDataError(f"{self.path}: {edges.name}/value has shape {shape}, expected "
                                     "(frames, 3, 3) or (frames, 3)")
        elif isinstance(edges, h5py.Dataset) and edges.shape not in ((3,), (3, 3)):
            raise InputDataError(f"{self.path}: {edges.name} has shape {edges.shape}, expected (3, 3) or (3,)")

    def _boundary(self) -> tuple[bool, bool, bool]:
        box = self._particles.get("box")
        if box is None or "boundary" not in box.attrs:
            return (True, True, True)
        values = [v.decode() if isinstance(v, bytes) else str(v) for v in box.attrs["boundary"]]
        return tuple(v == "periodic" for v in values)

    def _clock(self) -> tuple[np.ndarray, np.ndarray]:
        position = self._particles["position"]
        lengths = [position["value"].shape[0], position["step"].shape[0]]
        for name in self._frame_datasets():
            lengths.append(self._particles[name].shape[0])
        if L.COMMITTED in self._file:
            lengths.append(int(self._file[L.COMMITTED][0]))
        count = min(lengths)
        steps = position["step"][:count].astype(np.int64)
        # A frame whose step did not reach the disk reads as the fill value: keep strictly increasing steps.
        bad = np.nonzero(np.diff(steps) <= 0)[0]
        if len(bad):
            count = int(bad[0]) + 1
            steps = steps[:count]
        times = position["time"][:count] * self._time_scale if "time" in position else steps.astype(float)
        return steps, np.asarray(times, dtype=float)

    def _frame_datasets(self) -> list[str]:
        names = ["box/edges/value"] if "box/edges/value" in self._particles else []
        for key in ("image", "velocity", "force"):
            if key in self._particles:
                names.append(f"{key}/value")
        return names

    # -- basics --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.steps)

    @property
    def time_origin(self) -> str:
        """What t = 0 is on this file's time axis (``origin`` of the frame clock; older files: unstated)."""
        time = self._particles["position"].get("time")
        origin = time.attrs.get("origin") if time is not None else None
        return str(origin) if origin is not None else "unstated (file written before simkit recorded it)"

    @property
    def species(self) -> tuple[str, ...]:
        """Distinct species, ordered by atomic number."""
        return tuple(chemical_symbols[z] for z in sorted(set(self.numbers.tolist())))

    @property
    def has_velocities(self) -> bool:
        return "velocity" in self._particles

    @property
    def has_forces(self) -> bool:
        return "force" in self._particles

    def close(self) -> None:
        if self._file.id.valid:
            self._file.close()

    def require_unwrapped(self, purpose: str) -> None:
        """Nothing to refuse: positions unwrap through the stored image flags (a file without any is taken as
        storing unwrapped positions). Extended XYZ refuses here; see :mod:`simkit.io.extxyz_reader`."""

    # -- frames ------------------------------------------------------------------------
    def cell(self, index: int) -> np.ndarray:
        """Cell (3, 3) of frame ``index`` in Å (a diagonal if the file stores edge lengths)."""
        box = self._particles.get("box")
        if box is None or "edges" not in box:
            raise InputDataError(f"{self.path}: frame {index}: no box edges stored")
        edges = box["edges"]
        raw = edges["value"][index] if isinstance(edges, h5py.Group) else edges[...]
        raw = np.asarray(raw, dtype=float) * self._length_scale
        cell = np.diag(raw) if raw.shape == (3,) else raw
        check_cells(self.path, cell[None], [index], self.pbc)
        return cell

    def _cells(self, pick, count: int) -> np.ndarray:
        """Cells [F, 3, 3] for a frame selection, read in one go."""
        edges = self._particles["box/edges"]
        if not isinstance(edges, h5py.Group):
            return np.broadcast_to(self.cell(0), (count, 3, 3))
        raw = np.asarray(edges["value"][pick], dtype=float) * self._length_scale
        return np.stack([np.diag(r) for r in raw]) if raw.ndim == 2 else raw

    def _per_atom_value(self, name: str) -> h5py.Dataset:
        """The ``value`` dataset of per-atom record ``name``, checked against the frames and atoms it is read
        for: a damaged record is named when read, and the rest of the file stays readable."""
        if name not in self.per_atom_names:
            known = ", ".join(self.per_atom_names) or "none"
            raise InputDataError(f"{self.path}: no per-atom record {name!r} in {self._particles.name} (stored: {known})")
        value = self._particles[f"{name}/value"]
        shape = value.shape if isinstance(value, h5py.Dataset) else None
        if shape is None or len(shape) not in (2, 3) or shape[0] < len(self) or shape[1] != self.natoms:
            raise InputDataError(
                f"{self.path}: per-atom record {value.name} has shape {shape}, expected ({len(self)} frames, "
                f"{self.natoms} atoms[, components]); the record is damaged (the positions are still readable)")
        return value

    def _read_error(self, where: str, exc: OSError) -> InputDataError:
        return InputDataError(f"{self.path}: {where}: cannot read ({' '.join(str(exc).split())}); the file is damaged")

    def frame(self, index: int, *, velocities: bool = True, forces: bool = True,
              per_atom: Sequence[str] | None = None) -> Frame:
        """Frame ``index`` (negative counts from the end); optional data only when asked and stored."""
        index = self._frame_index(index)
        p = self._particles
        try:
            images = p["image/value"][index].astype(np.int64) if self._has_images else None
            positions = p["position/value"][index].astype(float) * self._length_scale
            frame = Frame(
                index=index,
                step=int(self.steps[index]),
                time_ps=float(self.times_ps[index]),
                positions_A=positions,
                cell_A=self.cell(index),
                pbc=self.pbc,
                numbers=self.numbers,
                images=images,
                velocities_A_per_ps=(p["velocity/value"][index].astype(float) * self._length_scale
                                     if velocities and self.has_velocities else None),
                forces_eV_per_A=p["force/value"][index].astype(float) if forces and self.has_forces else None,
                per_atom={name: self._per_atom_value(name)[index]
                          for name in (self.per_atom_names if per_atom is None else per_atom)},
            )
        except OSError as exc:
            raise self._read_error(f"frame {index}", exc) from exc
        check_positions(self.path, positions[None], [index])
        return frame

    def positions(self, frames: slice | Sequence[int] = slice(None), atoms: slice = slice(None), *,
                  unwrapped: bool = True) -> np.ndarray:
        """Positions [F, n, 3] in Å for a frame selection and a contiguous atom slice.

        ``unwrapped`` adds image shifts (exact: integer images times the frame's
        cell). Reads only the requested block from disk.
        """
        p = self._particles
        if isinstance(frames, slice):
            start, stop, stride = frames.indices(len(self))
            selection = np.arange(start, stop, stride)
        else:
            selection = np.asarray(frames, dtype=np.int64)
        if len(selection) == 0:
            return np.zeros((0, len(range(self.natoms)[atoms]), 3))
        contiguous = len(selection) > 1 and np.all(np.diff(selection) == selection[1] - selection[0])
        pick = slice(selection[0], selection[-1] + 1, int(selection[1] - selection[0])) if contiguous else selection
        if len(selection) == 1:
            pick = slice(selection[0], selection[0] + 1)
        try:
            positions = p["position/value"][pick, atoms].astype(float) * self._length_scale
            if unwrapped and self._has_images:
                images = p["image/value"][pick, atoms].astype(float)
                cells = self._cells(pick, len(selection))
                check_cells(self.path, cells, selection, self.pbc)
                positions += np.einsum("fnk,fkj->fnj", images, cells)
        except OSError as exc:
            raise self._read_error(f"frames {selection[0]}-{selection[-1]}", exc) from exc
        check_positions(self.path, positions, selection)
        return positions

    # -- observables and provenance ---------------------------------------------------
    def observables(self) -> dict[str, dict[str, np.ndarray | str]]:
        """Every observable: ``{name: {"step", "time_ps", "value", "units"}}`` (committed records only)."""
        root = self._file.get(L.THERMO_SERIES if L.THERMO_SERIES in self._file else L.OBSERVABLES)  # older: the latter
        if root is None:
            return {}
        committed = int(self._file[L.COMMITTED][1]) if L.COMMITTED in self._file else None
        result = {}
        for name, group in root.items():
            if not isinstance(group, h5py.Group) or "value" not in group or group.name == "/" + L.FRAME_DT:
                continue
            step, time, value = parts = [group.get(key) for key in ("step", "time", "value")]
            if not all(isinstance(part, h5py.Dataset) and part.ndim >= 1 for part in parts):
                raise InputDataError(f"{self.path}: observable {group.name} needs 'step', 'time' and 'value' "
                                     "datasets over its records; the group is damaged")
            count = min(*(part.shape[0] for part in parts), committed if committed is not None else 1 << 62)
            result[name] = {
                "step": step[:count],
                "time_ps": time[:count] * _scale(time, _TIME_TO_PS, "time", self.path),
                "value": value[:count],
                "units": str(value.attrs.get("units", value.attrs.get("unit", ""))),
            }
        return result

    def provenance(self) -> list[dict]:
        """Provenance dicts of every run segment that wrote this file, oldest first."""
        group = self._file.get(L.PROVENANCE)
        if group is None:
            return []
        runs = sorted((k for k in group if k.startswith("run_")), key=lambda k: int(k.split("_")[1]))
        out = []
        for key in runs:
            attrs = group[key].attrs
            try:
                entry = json.loads(attrs.get("json", "{}"))
            except (TypeError, ValueError) as exc:  # JSONDecodeError is a ValueError
                raise InputDataError(f"{self.path}: provenance {group[key].name}: its 'json' attribute is not "
                                     f"JSON ({exc})") from exc
            if not isinstance(entry, dict):
                raise InputDataError(f"{self.path}: provenance {group[key].name}: its 'json' attribute is not a "
                                     "JSON object")
            entry["_segment"] = {
                "resumed_after_step": int(attrs.get("resumed_after_step", -1)),
                "first_frame": int(attrs.get("first_frame", 0)),
                "status": str(attrs.get("status", "unknown")),
            }
            out.append(entry)
        return out


def check_positions(path: Path, positions: np.ndarray, frames: Sequence[int]) -> None:
    """Refuse non-finite positions (they would turn every average into NaN), naming the frame."""
    finite = np.isfinite(positions).all(axis=tuple(range(1, positions.ndim)))
    if not finite.all():
        raise InputDataError(f"{path}: frame {int(frames[int(np.argmin(finite))])}: non-finite atom positions")


def check_cells(path: Path, cells: np.ndarray, frames: Sequence[int], pbc: tuple[bool, bool, bool]) -> None:
    """Refuse non-finite cells, and periodic vectors that are zero or linearly dependent (no lattice)."""
    for k, cell in enumerate(cells):
        if not np.all(np.isfinite(cell)):
            raise InputDataError(f"{path}: frame {int(frames[k])}: non-finite cell {cell.tolist()}")
        vectors = cell[[axis for axis in range(3) if pbc[axis]]]
        # Gram determinant: the squared length, area or volume the periodic vectors span (1e-9 Å, Å^2, Å^3)
        singular = np.any(np.linalg.norm(vectors, axis=1) < 1e-9) or (
            len(vectors) > 1 and np.linalg.det(vectors @ vectors.T) < 1e-18)
        if singular:
            raise InputDataError(f"{path}: frame {int(frames[k])}: periodic cell is singular {cell.tolist()}")


def _open(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r", rdcc_nbytes=_READ_CACHE_BYTES)
    except OSError as exc:
        if "open for write" not in str(exc) and "consistency flags" not in str(exc):
            raise InputDataError(f"{path}: cannot open as HDF5: {exc}") from exc
    # Left marked open by a writer (running, or killed): SWMR readers may still read it.
    try:
        return h5py.File(path, "r", libver="latest", swmr=True, rdcc_nbytes=_READ_CACHE_BYTES)
    except OSError as exc:
        if "not already open for SWMR writing" in str(exc):
            raise InputDataError(f"{path}: left flagged open for writing by a writer killed outside SWMR mode; "
                                 "resuming its run, or simkit.io.recover(path), repairs it") from exc
        raise InputDataError(f"{path}: cannot open as HDF5: {exc}") from exc


def _scale(dataset: h5py.Dataset, table: dict[str, float], what: str, path: Path) -> float:
    unit = dataset.attrs.get("unit")
    if unit is None:
        return 1.0
    unit = unit.decode() if isinstance(unit, bytes) else str(unit)
    if unit not in table:
        raise InputDataError(f"{path}: {dataset.name}: {what} unit {unit!r} not understood (known: {sorted(table)})")
    return table[unit]

