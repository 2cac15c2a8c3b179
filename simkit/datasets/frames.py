"""Labelled structures: the data every fitter and scorer works on.

A :class:`Frame` is one structure with its reference labels in the ASE frame:
total energy (eV), forces (eV/Å), optionally the virial tensor W = -stress * V
(eV), and a ``config_type`` naming the kind of structure (``bulk``, ``liquid``,
...) used for weights, stratified splits and per-type errors. A
:class:`Dataset` is an ordered list of frames; subsets keep each frame's
``source`` (file and index in it) so messages always point at the input.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
from ase import Atoms

DEFAULT_CONFIG_TYPE = "default"


@dataclass
class Frame:
    """One labelled structure; ``source`` reads like ``train.extxyz frame 12``."""

    atoms: Atoms  # positions, cell, pbc and species only (no calculator)
    energy_eV: float
    forces_eV_per_A: np.ndarray  # (N, 3)
    virial_eV: np.ndarray | None = None  # (3, 3), W = -stress * volume
    config_type: str = DEFAULT_CONFIG_TYPE
    source: str = "frame"

    @property
    def n_atoms(self) -> int:
        return len(self.atoms)

    @property
    def symbols(self) -> list[str]:
        return self.atoms.get_chemical_symbols()


@dataclass
class Dataset:
    """An ordered collection of frames (picklable; no open files or handles)."""

    frames: list[Frame] = field(default_factory=list)
    name: str = "dataset"

    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self):
        return iter(self.frames)

    def __getitem__(self, index: int) -> Frame:
        return self.frames[index]

    def subset(self, indices: Iterable[int], name: str | None = None) -> "Dataset":
        return Dataset([self.frames[i] for i in indices], name=name or self.name)

    @classmethod
    def concatenate(cls, parts: Sequence["Dataset"], name: str = "dataset") -> "Dataset":
        return cls([frame for part in parts for frame in part.frames], name=name)

    @property
    def structures(self) -> list[Atoms]:
        return [frame.atoms for frame in self.frames]

    @property
    def elements(self) -> tuple[str, ...]:
        """Elements present, sorted."""
        return tuple(sorted({s for frame in self.frames for s in frame.symbols}))

    @property
    def n_atoms(self) -> int:
        return sum(frame.n_atoms for frame in self.frames)

    def config_types(self) -> dict[str, int]:
        """Frame count per config_type, in order of first appearance."""
        return dict(Counter(frame.config_type for frame in self.frames))

    def composition(self, elements: Sequence[str]) -> np.ndarray:
        """Atom counts per element: shape (n_frames, len(elements))."""
        counts = np.zeros((len(self.frames), len(elements)))
        column = {el: k for k, el in enumerate(elements)}
        for row, frame in enumerate(self.frames):
            for symbol, count in Counter(frame.symbols).items():
                counts[row, column[symbol]] = count
        return counts
