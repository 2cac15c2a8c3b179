"""Read extended XYZ trajectories lazily: one scan for frame offsets, then frames parsed on demand.

Extended XYZ (written by ASE and OVITO, or converted from LAMMPS dumps) is text
without an index, so :class:`ExtxyzTrajectory` scans the file once when opened:
it records where each frame starts, checks every frame's atom count and reads
its comment line for step and time. A frame is parsed only when asked for, by
ASE's extxyz reader on that frame's bytes alone, so memory holds one frame plus
a few numbers per frame, whatever the file's length.

Steps and times come from each frame's comment line (``atoms.info``; keys in
any case):

- step: ``step`` or ``timestep`` (what ASE's LAMMPS dump reader and OVITO
  write), else the frame index;
- time: ``time_ps``; ``time_fs``; or ``time`` with ``time_unit`` (fs, ps, ns)
  beside it. A bare ``time`` is not guessed, since codes differ by a factor of
  1000 (LAMMPS metal units write ps, ASE and GPUMD fs): times are then NaN,
  said once in the log, and selecting frames by time is refused.

Every frame must hold the same atoms in the same species order (analyses pair
atoms by index): atom counts are checked when the file is opened, species,
periodicity, cells and positions when a frame is read. The format has no
periodic image flags, so unwrapped positions (an MSD) are refused.
"""

from __future__ import annotations

import io
import logging
from itertools import islice
from pathlib import Path
from typing import BinaryIO, Sequence

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols
from ase.io import read
from ase.io.extxyz import key_val_str_to_dict

from simkit.errors import InputDataError
from simkit.io.frame_sequence import FrameSequence
from simkit.io.h5md_reader import Frame, check_cells, check_positions
from simkit.units import A_PER_PS_PER_ASE_VELOCITY

log = logging.getLogger(__name__)

_TIME_TO_PS = {"ps": 1.0, "fs": 1.0e-3, "ns": 1.0e3}
# Arrays ASE fills from the columns it knows; any other column is per-atom data.
_STANDARD_ARRAYS = {"numbers", "positions", "momenta"}


class ExtxyzTrajectory(FrameSequence):
    """A read-only view of an extended XYZ trajectory, with :class:`~simkit.io.h5md_reader.H5mdTrajectory`'s
    interface. Use as a context manager.

    ``len(traj)`` frames; ``traj[i]`` a :class:`Frame`; ``traj[a:b:c]`` or
    ``traj.frames(...)`` iterate lazily; ``traj.select(start_ps, stop_ps)``
    picks frame indices by time (when the file has times).
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise InputDataError(f"{self.path}: trajectory file not found")
        try:
            self._file: BinaryIO = self.path.open("rb")
        except OSError as exc:
            raise InputDataError(f"{self.path}: cannot open: {exc.strerror}") from exc
        try:
            self._offsets, self._lines, self.natoms, self.steps, self.times_ps = _scan(self.path, self._file)
            first = self._atoms(0)
        except Exception:
            self._file.close()
            raise
        self.numbers = first.numbers.astype(np.int32)
        self.pbc: tuple[bool, bool, bool] = tuple(bool(p) for p in first.pbc)
        self.has_velocities = first.has("momenta")
        self.has_forces = first.calc is not None and "forces" in first.calc.results
        self.per_atom_names = tuple(name for name in first.arrays if name not in _STANDARD_ARRAYS)

    # -- basics --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.steps)

    @property
    def species(self) -> tuple[str, ...]:
        """Distinct species, ordered by atomic number."""
        return tuple(chemical_symbols[z] for z in sorted(set(self.numbers.tolist())))

    def close(self) -> None:
        self._file.close()

    def require_unwrapped(self, purpose: str) -> None:
        """Refuse: extended XYZ stores no periodic image flags, so wrapped positions cannot be unwrapped."""
        raise InputDataError(f"{self.path}: {purpose} needs unwrapped positions, which extended XYZ cannot give (it "
                             "has no periodic image flags); write the trajectory as H5MD (simkit.io.H5mdWriter)")

    # -- frames ------------------------------------------------------------------------
    def _atoms(self, index: int) -> Atoms:
        """Frame ``index`` parsed by ASE from its own bytes."""
        self._file.seek(self._offsets[index])
        text = self._file.read(self._offsets[index + 1] - self._offsets[index])
        try:
            # parallel=False: under mpi4py ASE would otherwise read on rank 0 and broadcast.
            return read(io.StringIO(text.decode()), format="extxyz", index=0, parallel=False)
        except Exception as exc:  # noqa: BLE001 - ASE raises many types for malformed text
            # A bare KeyError ('Xx') comes from an unknown element symbol.
            reason = f"unknown element {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())
            raise InputDataError(f"{self.path}: frame {index} (line {self._lines[index]}): cannot parse: "
                                 f"{reason}") from exc

    def frame(self, index: int, *, velocities: bool = True, forces: bool = True,
              per_atom: Sequence[str] | None = None) -> Frame:
        """Frame ``index`` (negative counts from the end); optional data only when asked and stored."""
        index = self._frame_index(index)
        atoms = self._atoms(index)
        self._check_same_atoms(index, atoms)
        cell = np.array(atoms.cell, dtype=float)
        check_cells(self.path, cell[None], [index], self.pbc)
        check_positions(self.path, atoms.positions[None], [index])
        names = self.per_atom_names if per_atom is None else per_atom
        missing = [name for name in names if name not in atoms.arrays]
        if missing:
            raise InputDataError(f"{self.path}: frame {index}: no per-atom column {missing[0]!r} "
                                 f"(has {', '.join(self.per_atom_names) or 'none'})")
        return Frame(
            index=index,
            step=int(self.steps[index]),
            time_ps=float(self.times_ps[index]),
            positions_A=atoms.positions.astype(float),
            cell_A=cell,
            pbc=self.pbc,
            numbers=self.numbers,
            velocities_A_per_ps=(atoms.get_velocities() * A_PER_PS_PER_ASE_VELOCITY
                                 if velocities and atoms.has("momenta") else None),
            forces_eV_per_A=(atoms.calc.results["forces"].astype(float) if forces and atoms.calc is not None
                             and "forces" in atoms.calc.results else None),
            per_atom={name: atoms.arrays[name] for name in names},
        )

    def _check_same_atoms(self, index: int, atoms: Atoms) -> None:
        """Refuse a frame whose species order or periodicity differs from frame 0's."""
        differs = np.nonzero(atoms.numbers != self.numbers)[0]
        if len(differs):
            atom = int(differs[0])
            raise InputDataError(f"{self.path}: frame {index}: atom {atom} is {atoms.get_chemical_symbols()[atom]}, "
                                 f"{chemical_symbols[self.numbers[atom]]} in frame 0; analyses need the same species "
                                 "order in every frame")
        pbc = tuple(bool(p) for p in atoms.pbc)
        if pbc != self.pbc:
            raise InputDataError(f"{self.path}: frame {index}: periodic directions {pbc} differ from frame 0's "
                                 f"{self.pbc}")

    def positions(self, frames: slice | Sequence[int] = slice(None), atoms: slice = slice(None), *,
                  unwrapped: bool = True) -> np.ndarray:
        """Wrapped positions [F, n, 3] in Å (``unwrapped=True`` is refused: no image flags).

        Parses every selected frame whole: text has no per-atom random access.
        """
        if unwrapped:
            self.require_unwrapped("positions(unwrapped=True)")
        selection = range(len(self))[frames] if isinstance(frames, slice) else frames
        blocks = [self.frame(int(k), velocities=False, forces=False, per_atom=()).positions_A[atoms]
                  for k in selection]
        return np.stack(blocks) if blocks else np.zeros((0, len(range(self.natoms)[atoms]), 3))


def _scan(path: Path, handle: BinaryIO) -> tuple[list[int], list[int], int, np.ndarray, np.ndarray]:
    """(byte offset of each frame plus the end, first line of each frame, atoms per frame, steps, times in ps).

    Reads each frame's count and comment lines and skips its atom lines unparsed.
    """
    offsets, lines, steps, times = [], [], [], []
    natoms = None
    line = 1
    bare_time = None  # first frame with a `time` but no unit
    while True:
        offset = handle.tell()
        header = handle.readline()
        if not header.strip():
            # Blank lines end a file (ASE reads no further); anything after them would be silently lost.
            if header and any(chunk.strip() for chunk in iter(lambda: handle.read(1 << 20), b"")):
                raise InputDataError(f"{path}: line {line}: a blank line where frame {len(offsets)} should start")
            break
        where = f"{path}: frame {len(offsets)} (line {line})"
        count = _atom_count(header, where)
        if natoms is not None and count != natoms:
            raise InputDataError(f"{where}: {count} atoms, frame 0 has {natoms}; analyses need the same atoms "
                                 "in every frame")
        natoms = count
        comment = handle.readline()
        atom_lines = sum(1 for _ in islice(handle, count))
        if atom_lines < count or not comment:
            raise InputDataError(f"{where}: truncated: {atom_lines} of {count} atom lines; the file is cut short")
        atoms_end = handle.tell()
        info = _info(comment)
        offsets.append(offset)
        lines.append(line)
        steps.append(_step(info, len(offsets) - 1, where))
        time_ps, bare = _time_ps(info, where)
        times.append(time_ps)
        if bare and bare_time is None:
            bare_time = len(offsets) - 1
        line += count + 2 + _skip_cell_vectors(handle)
    handle.seek(0, io.SEEK_END)
    end = handle.tell()
    if not offsets:
        raise InputDataError(f"{path}: no frames; the file is empty or not extended XYZ")
    handle.seek(atoms_end - 1)  # a writer killed mid-line leaves a last atom line without its line end
    if handle.read(1) != b"\n":
        raise InputDataError(f"{path}: frame {len(offsets) - 1}: the last line has no line end; the file looks "
                             "cut off while being written")
    return offsets + [end], lines, int(natoms), np.array(steps, dtype=np.int64), _times(path, times, lines, bare_time)


def _atom_count(header: bytes, where: str) -> int:
    try:
        count = int(header)
    except ValueError:
        count = -1
    if count < 0:
        shown = header.strip()[:30].decode("ascii", "backslashreplace")  # binary garbage stays printable
        raise InputDataError(f"{where}: expected an atom count, got {shown!r}; the file is not extended XYZ or is "
                             "damaged")
    return count


def _skip_cell_vectors(handle: BinaryIO) -> int:
    """Step over ``VEC1``-``VEC3`` lines that some writers put after the atoms (ASE reads them as the cell)."""
    skipped = 0
    while True:
        position = handle.tell()
        if not handle.readline().lstrip().startswith(b"VEC"):
            handle.seek(position)
            return skipped
        skipped += 1


def _times(path: Path, times: list[float], lines: list[int], bare_time: int | None) -> np.ndarray:
    """Times of all frames, or all NaN: a file giving some frames a time and others none is refused."""
    times = np.array(times, dtype=float)
    known = np.isfinite(times)
    if known.any() and not known.all():
        missing = int(np.argmin(known))
        raise InputDataError(f"{path}: frame {missing} (line {lines[missing]}) has no time while frame "
                             f"{int(np.argmax(known))} has one; give every frame a time or none")
    if bare_time is not None and not known.any():
        log.warning("%s: frame %d has `time` without `time_unit`; times are unknown (give time_ps, time_fs, "
                    "or time_unit=fs|ps|ns)", path, bare_time)
    return times


def _info(comment: bytes) -> dict:
    """The comment line's key=value pairs, keys lower-cased; {} for a line that is not key=value
    (ASE will report it, with the frame, if that frame is ever parsed)."""
    try:
        return {key.lower(): value for key, value in key_val_str_to_dict(comment.decode().strip()).items()}
    except Exception:  # noqa: BLE001 - any unreadable comment line means "no step or time here"
        return {}


def _step(info: dict, index: int, where: str) -> int:
    value = info.get("step", info.get("timestep", index))
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputDataError(f"{where}: step {value!r} is not an integer") from None


def _time_ps(info: dict, where: str) -> tuple[float, bool]:
    """(time in ps or NaN, whether a bare `time` without unit was seen)."""
    if "time_ps" in info:
        value, scale = info["time_ps"], 1.0
    elif "time_fs" in info:
        value, scale = info["time_fs"], 1.0e-3
    elif "time" in info and "time_unit" in info:
        unit = str(info["time_unit"])
        if unit not in _TIME_TO_PS:
            raise InputDataError(f"{where}: time_unit {unit!r} not understood (known: {sorted(_TIME_TO_PS)})")
        value, scale = info["time"], _TIME_TO_PS[unit]
    else:
        return float("nan"), "time" in info
    try:
        return float(value) * scale, False
    except (TypeError, ValueError):
        raise InputDataError(f"{where}: time {value!r} is not a number") from None
