"""Analyses under ``mpirun``: the selected frames split into contiguous blocks, one block per rank.

Frames are independent for every analysis listed in :data:`SPLIT`, so each
rank opens the file read-only, analyses its block and rank 0 merges the
blocks in frame order. The merge reproduces the serial run bitwise:

* per-frame results (crystallinity, profiles, grains) are concatenated;
* g(r) histograms are integer counts, and their normalisations are summed
  exactly (``math.fsum``) whatever the split;
* grains seed their nucleation tracking with the frame before the block.

A single frame is not split (one rank analyses it; the others wait): at
device scale a trajectory has thousands of frames, and frames split with no
communication at all. Every rank holds one frame at a time; rank 0 also holds
the merged per-frame results (and the per-atom arrays it writes, see each
analysis's ``per_atom_*`` option). An error on any rank stops every rank
(:func:`simkit.runtime.mpi.on_all_ranks`). Analyses not in :data:`SPLIT`
(msd needs every frame of an atom at once; angles, coordination, defects)
run on rank 0 alone.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from simkit.runtime.mpi import on_all_ranks, on_root, rank_of, size_of


@dataclass(frozen=True)
class Split:
    """How one analysis runs on a block of frames and how blocks merge."""

    module: str
    partial: str  # function(trajectory, options, *, progress, frames) -> part
    merge: Callable[[list[Any]], Any]  # parts in frame order -> result


def _merge_rdf(parts):
    total = parts[0]
    for part in parts[1:]:
        total.merge(part)
    return total.result()


def _merge_results(parts):
    return type(parts[0]).merge(parts)


SPLIT: dict[str, Split] = {
    "rdf": Split("simkit.analysis.rdf", "rdf_partial", _merge_rdf),
    "profiles": Split("simkit.analysis.profiles", "analyse_profiles", _merge_results),
    "crystallinity": Split("simkit.analysis.crystallinity", "analyse_crystallinity", _merge_results),
    "grains": Split("simkit.analysis.grains", "analyse_grains", _merge_results),
}


def frame_blocks(indices: np.ndarray, ranks: int) -> list[np.ndarray]:
    """Contiguous blocks of ``indices``, as even as possible, at most one per rank (none empty)."""
    return [block for block in np.array_split(np.asarray(indices), min(ranks, max(len(indices), 1))) if len(block)]


def run_split(path: str | Path, name: str, options, comm, *, progress: bool = True):
    """Analysis ``name`` of the trajectory at ``path`` on every rank of ``comm``; the result on rank 0
    (None on the others)."""
    # lazy: h5py and ase.io load in ~0.8 s and `simkit --help` imports this package for the analysis flags
    from simkit.io.trajectory import open_trajectory

    split = SPLIT[name]
    function = getattr(importlib.import_module(split.module), split.partial)
    rank, size = rank_of(comm), size_of(comm)

    def analyse_block():
        with open_trajectory(path) as trajectory:
            blocks = frame_blocks(options.indices(trajectory), size)
            if rank >= len(blocks):
                return None
            return function(trajectory, options, progress=progress and rank == 0, frames=blocks[rank])

    part = on_all_ranks(comm, analyse_block)
    parts = comm.gather(part, root=0) if comm is not None and size > 1 else [part]
    return on_root(comm, lambda: split.merge([p for p in parts if p is not None]), share=False)
