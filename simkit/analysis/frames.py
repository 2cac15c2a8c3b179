"""The frames an analysis reads: a lazy, progress-reporting loop over a trajectory, or snapshots in memory."""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
from ase import Atoms
from tqdm import tqdm

from simkit.analysis.options import FrameSelection
from simkit.io.h5md_reader import Frame
from simkit.io.trajectory import Trajectory

__all__ = ["FrameSelection", "frames_from_atoms", "iterate_frames"]


def iterate_frames(trajectory: Trajectory, indices: np.ndarray, label: str, *, progress: bool = True,
                   velocities: bool = False, forces: bool = False) -> Iterator[Frame]:
    """Yield the selected frames one at a time, with a progress bar on a terminal."""
    frames = trajectory.frames(indices=indices, velocities=velocities, forces=forces, per_atom=())
    # disable=None: tqdm shows the bar only when stderr is a terminal.
    yield from tqdm(frames, total=len(indices), desc=label, unit="frame", disable=None if progress else True)


def frames_from_atoms(images: Iterable[Atoms]) -> Iterator[Frame]:
    """Snapshots held in memory as :class:`Frame` objects, so every ``*_of_frames`` analysis reads them.

    Carries positions (Å), cell, pbc and atomic numbers; ``step`` and ``time_ps``
    come from ``atoms.info`` where :meth:`Frame.to_atoms` put them, else the
    list index and NaN (time unknown).
    """
    for index, atoms in enumerate(images):
        yield Frame(index=index, step=int(atoms.info.get("step", index)),
                    time_ps=float(atoms.info.get("time_ps", np.nan)), positions_A=atoms.get_positions(),
                    cell_A=np.array(atoms.cell), pbc=tuple(bool(p) for p in atoms.pbc), numbers=atoms.numbers.copy())
