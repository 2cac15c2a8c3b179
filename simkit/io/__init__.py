"""Trajectories in and out: H5MD files written frame by frame, read back lazily.

See :mod:`simkit.io.h5md_layout` for the file layout, :mod:`simkit.io.h5md_writer`
for the writer and its crash-consistency guarantee, :mod:`simkit.io.h5md_reader`
for lazy reading.
"""

from simkit.io.h5md_layout import (
    THERMO_OBSERVABLES,
    TRAJECTORY_FILE,
    ObservableSpec,
    PerAtomSpec,
)
from simkit.io.h5md_reader import Frame, H5mdTrajectory, open_trajectory
from simkit.io.h5md_recover import recover
from simkit.io.h5md_writer import H5mdWriter

__all__ = [
    "THERMO_OBSERVABLES",
    "TRAJECTORY_FILE",
    "Frame",
    "H5mdTrajectory",
    "H5mdWriter",
    "ObservableSpec",
    "PerAtomSpec",
    "open_trajectory",
    "recover",
]
