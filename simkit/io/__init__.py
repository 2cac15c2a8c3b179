"""Trajectories in and out: H5MD files written frame by frame, read back lazily.

See :mod:`simkit.io.h5md_layout` for the file layout, :mod:`simkit.io.h5md_writer`
for the writer and its crash-consistency guarantee, :mod:`simkit.io.h5md_reader`
for lazy reading; :mod:`simkit.io.extxyz_reader` reads extended XYZ the same way, and
:func:`open_trajectory` (:mod:`simkit.io.trajectory`) picks the reader by suffix.
"""

from simkit.io.extxyz_reader import ExtxyzTrajectory
from simkit.io.h5md_layout import (
    THERMO_OBSERVABLES,
    TRAJECTORY_FILE,
    ObservableSpec,
    PerAtomSpec,
)
from simkit.io.h5md_reader import Frame, H5mdTrajectory
from simkit.io.h5md_recover import recover
from simkit.io.h5md_writer import H5mdWriter
from simkit.io.trajectory import Trajectory, open_trajectory

__all__ = [
    "THERMO_OBSERVABLES",
    "TRAJECTORY_FILE",
    "ExtxyzTrajectory",
    "Frame",
    "H5mdTrajectory",
    "H5mdWriter",
    "ObservableSpec",
    "PerAtomSpec",
    "Trajectory",
    "open_trajectory",
    "recover",
]
