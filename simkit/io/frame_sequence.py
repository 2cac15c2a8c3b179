"""What every trajectory reader shares: indexing, iteration, frame ranges, selection by time, closing.

A reader subclasses :class:`FrameSequence` and provides ``__len__``,
``frame(index, **options)``, ``times_ps``, ``path``, ``close()`` and
``require_unwrapped(purpose)``.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from ase import Atoms

from simkit.errors import InputDataError


class FrameSequence:
    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getitem__(self, key):
        if isinstance(key, slice):
            return self.frames(*key.indices(len(self)))
        return self.frame(key)

    def __iter__(self) -> Iterator:
        return self.frames()

    def _frame_index(self, index: int) -> int:
        """``index`` as a non-negative frame number (negative counts from the end); refused if absent."""
        count = len(self)
        if not -count <= index < count:
            raise InputDataError(f"{self.path}: frame {index} does not exist ({count} frames)")
        return index % count

    def frames(self, start: int = 0, stop: int | None = None, stride: int = 1, *,
               indices: Sequence[int] | None = None, **options) -> Iterator:
        """Yield frames lazily, by range or by explicit ``indices`` (see :meth:`frame` for options)."""
        chosen = range(len(self))[start:stop:stride] if indices is None else indices
        for index in chosen:
            yield self.frame(int(index), **options)

    def select(self, start_ps: float | None = None, stop_ps: float | None = None, stride: int = 1) -> np.ndarray:
        """Indices of frames with start_ps <= time <= stop_ps, every ``stride``-th."""
        if (start_ps is not None or stop_ps is not None) and not np.isfinite(self.times_ps).all():
            raise InputDataError(f"{self.path}: frames carry no time (time_ps, time_fs, or time with time_unit), "
                                 "so they cannot be selected by time; select them by index")
        mask = np.ones(len(self), dtype=bool)
        if start_ps is not None:
            mask &= self.times_ps >= start_ps
        if stop_ps is not None:
            mask &= self.times_ps <= stop_ps
        return np.nonzero(mask)[0][::stride]

    def to_atoms(self, index: int, unwrapped: bool = False) -> Atoms:
        if unwrapped:
            self.require_unwrapped("to_atoms(unwrapped=True)")
        return self.frame(index).to_atoms(unwrapped=unwrapped)
