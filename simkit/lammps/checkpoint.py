"""LAMMPS restart files as checkpoints: written atomically, read back into a session.

A restart file holds the box, atoms (positions, velocities, image flags),
groups, masses, the step counter and elapsed time, and the internal state of
fixes that keep one (e.g. the Nose-Hoover chain of ``fix nvt``, restored when a
fix with the same ID and style is defined again). It does not hold regions,
computes, variables or the pair coefficients of most styles: the caller
defines those again after :func:`read_checkpoint`.

Files are written under a temporary name and renamed once complete and on
disk, so a run killed while writing leaves the previous checkpoint intact,
and a checkpoint record written afterwards never names a file a crash loses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from simkit.lammps.session import LammpsSession
from simkit.lammps.structure import LammpsBox
from simkit.lammps.words import lammps_word
from simkit.runtime.files import replace_durably

RESTART_SUFFIX = ".restart"


def write_checkpoint(session: LammpsSession, path: Path) -> Path:
    """Write a restart file at ``path`` (collective; rank 0 writes the one file)."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    session.command(f"write_restart {lammps_word(str(partial))}")
    if session.rank == 0:
        replace_durably(partial, path)
    return path


def read_checkpoint(session: LammpsSession, path: Path, species: Sequence[str], box: LammpsBox) -> int:
    """Load the system of restart file ``path`` into ``session``; returns its step.

    ``species`` (type order) and ``box`` (rotation into the ASE frame,
    periodicity) are those of the system that was first created.
    """
    session.read_restart(lammps_word(str(path)), species, box)
    return session.step


def remove_checkpoints(directory: Path, keep: Sequence[Path]) -> None:
    """Delete restart files in ``directory`` except ``keep``, and partial ones a kill left (rank 0 only)."""
    kept = {Path(p).resolve() for p in keep}
    for pattern in (f"*{RESTART_SUFFIX}", f"*{RESTART_SUFFIX}.partial"):
        for path in Path(directory).glob(pattern):
            if path.resolve() not in kept:
                path.unlink(missing_ok=True)
