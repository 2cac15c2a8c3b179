"""The lazy, progress-reporting loop over the frames an analysis reads."""

from __future__ import annotations

from typing import Iterator

import numpy as np
from tqdm import tqdm

from simkit.analysis.options import FrameSelection
from simkit.io.h5md_reader import Frame, H5mdTrajectory

__all__ = ["FrameSelection", "iterate_frames"]


def iterate_frames(trajectory: H5mdTrajectory, indices: np.ndarray, label: str, *, progress: bool = True,
                   velocities: bool = False, forces: bool = False) -> Iterator[Frame]:
    """Yield the selected frames one at a time, with a progress bar on a terminal."""
    frames = trajectory.frames(indices=indices, velocities=velocities, forces=forces, per_atom=())
    # disable=None: tqdm shows the bar only when stderr is a terminal.
    yield from tqdm(frames, total=len(indices), desc=label, unit="frame", disable=None if progress else True)
