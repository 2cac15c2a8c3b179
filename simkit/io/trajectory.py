"""One way in for trajectory files: :func:`open_trajectory` picks the reader from the file's suffix.

Both readers give what analyses use, written down as :class:`Trajectory`:
:class:`~simkit.io.h5md_reader.H5mdTrajectory` (simkit's own files and other
H5MD) and :class:`~simkit.io.extxyz_reader.ExtxyzTrajectory` (extended XYZ,
which has no image flags: :meth:`Trajectory.require_unwrapped` refuses there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Protocol, Sequence

import numpy as np

from simkit.io.extxyz_reader import ExtxyzTrajectory
from simkit.io.h5md_reader import Frame, H5mdTrajectory

EXTXYZ_SUFFIXES = (".xyz", ".extxyz")


class Trajectory(Protocol):
    """A read-only, lazily read trajectory with the same atoms in every frame."""

    path: Path
    natoms: int
    numbers: np.ndarray  # (N,) atomic numbers, the file's atom order
    steps: np.ndarray  # (F,) int
    times_ps: np.ndarray  # (F,) NaN where the file gives no time
    per_atom_names: tuple[str, ...]

    def __len__(self) -> int: ...

    def __enter__(self) -> "Trajectory": ...

    def __exit__(self, *exc) -> None: ...

    def frame(self, index: int, *, velocities: bool = True, forces: bool = True,
              per_atom: Sequence[str] | None = None) -> Frame: ...

    def frames(self, start: int = 0, stop: int | None = None, stride: int = 1, *,
               indices: Sequence[int] | None = None, **options) -> Iterator[Frame]: ...

    def select(self, start_ps: float | None = None, stop_ps: float | None = None,
               stride: int = 1) -> np.ndarray: ...

    def positions(self, frames: slice | Sequence[int] = slice(None), atoms: slice = slice(None), *,
                  unwrapped: bool = True) -> np.ndarray: ...

    def require_unwrapped(self, purpose: str) -> None:
        """Raise InputDataError naming the file if positions cannot be unwrapped (``purpose`` names the user)."""


def open_trajectory(path: str | Path, group: str | None = None) -> Trajectory:
    """Open a trajectory for lazy reading: ``.xyz``/``.extxyz`` as extended XYZ, anything else as H5MD.

    ``group`` names the H5MD particles group (default: simkit's, else the first); extended XYZ has none.
    """
    path = Path(path)
    if path.suffix.lower() in EXTXYZ_SUFFIXES:
        if group is not None:
            raise ValueError(f"{path}: extended XYZ has no particles groups (group={group!r})")
        return ExtxyzTrajectory(path)
    return H5mdTrajectory(path, group)
