"""Coordination numbers: neighbours of each atom within a cutoff, resolved by species.

Per frame: the mean number of B neighbours of an A atom (``A-B``) and of all
neighbours (``A-*``). Over all frames: the distribution of total
coordination for each centre species.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from ase.data import chemical_symbols

from simkit.analysis.angles import pair_cutoff_matrix, species_neighbours
from simkit.analysis.frames import iterate_frames
from simkit.analysis.neighbors import check_search_memory
from simkit.analysis.options import CoordinationOptions
from simkit.analysis.output import new_figure, save_figure, write_csv, write_hdf5
from simkit.io.h5md_reader import Frame
from simkit.io.trajectory import Trajectory

_MAX_COORDINATION = 32


@dataclass
class CoordinationResult:
    steps: np.ndarray
    times_ps: np.ndarray
    mean: dict[str, np.ndarray]  # "A-B" and "A-*": per frame
    histogram: dict[str, np.ndarray]  # "A": fraction of A atoms with coordination 0.._MAX_COORDINATION
    frames: int

    def write(self, output_dir: Path, stem: str = "coordination") -> dict[str, Path]:
        output_dir = Path(output_dir)
        per_frame = {"step": self.steps, "time_ps": self.times_ps}
        per_frame.update({f"cn_{k}": v for k, v in self.mean.items()})
        datasets = {"step": (self.steps, "1"), "time": (self.times_ps, "ps")}
        datasets.update({f"mean/{k}": (v, "1") for k, v in self.mean.items()})
        datasets.update({f"histogram/{k}": (v, "1") for k, v in self.histogram.items()})
        figure = new_figure()
        axis = figure.add_subplot()
        counts = np.arange(_MAX_COORDINATION + 1)
        width = 0.8 / max(len(self.histogram), 1)
        for offset, (key, fractions) in enumerate(self.histogram.items()):
            axis.bar(counts + offset * width, fractions, width=width, label=f"{key} centres")
        axis.set_xlabel("coordination number")
        axis.set_ylabel("fraction of atoms")
        top = max((np.nonzero(h)[0].max(initial=0) for h in self.histogram.values()), default=0)
        axis.set_xlim(-0.5, top + 1.5)
        axis.set_title(f"coordination ({self.frames} frames)")
        axis.legend(fontsize="small")
        return {
            "hdf5": write_hdf5(output_dir / f"{stem}.h5", datasets, {"frames": self.frames}),
            "csv": write_csv(output_dir / f"{stem}.csv", per_frame),
            "histogram_csv": write_csv(output_dir / f"{stem}_histogram.csv",
                                       {"coordination": counts, **{f"fraction_{k}": v for k, v in self.histogram.items()}}),
            "png": save_figure(figure, output_dir / f"{stem}.png"),
        }


def coordination_numbers(positions, cell, pbc, numbers, species: tuple[int, ...], cutoffs: np.ndarray) -> np.ndarray:
    """Per-atom neighbour counts by neighbour species: (N, n_species)."""
    neighbours, kind = species_neighbours(positions, cell, pbc, numbers, species, cutoffs)
    table = np.zeros((len(positions), len(species)), dtype=np.int64)
    np.add.at(table, (neighbours.i, kind[neighbours.j]), 1)
    return table


def coordination_of_frames(frames: Iterable[Frame], species_numbers: Iterable[int],
                           options: CoordinationOptions, *, source: str = "frames") -> CoordinationResult:
    """``source`` names the frames' file in errors."""
    species = tuple(sorted(set(int(z) for z in species_numbers)))
    symbols = [chemical_symbols[z] for z in species]
    cutoffs = pair_cutoff_matrix(species, options.cutoff_A, options.pair_cutoffs_A)
    steps, times, rows = [], [], []
    histogram = {s: np.zeros(_MAX_COORDINATION + 1) for s in symbols}
    for frame in frames:
        check_search_memory(frame.positions_A, frame.cell_A, frame.pbc, float(cutoffs.max()), options.memory_MiB,
                            angles=False, where=f"{source}: frame {frame.index}")
        table = coordination_numbers(frame.positions_A, frame.cell_A, frame.pbc, frame.numbers, species, cutoffs)
        kind = np.searchsorted(species, frame.numbers)
        row = {}
        for a, name in enumerate(symbols):
            members = kind == a
            for b, other in enumerate(symbols):
                row[f"{name}-{other}"] = table[members, b].mean() if members.any() else np.nan
            total = table[members].sum(axis=1)
            row[f"{name}-*"] = total.mean() if members.any() else np.nan
            histogram[name] += np.bincount(np.minimum(total, _MAX_COORDINATION), minlength=_MAX_COORDINATION + 1)
        steps.append(frame.step)
        times.append(frame.time_ps)
        rows.append(row)
    mean = {key: np.array([r[key] for r in rows]) for key in (rows[0] if rows else {})}
    fractions = {k: v / max(v.sum(), 1) for k, v in histogram.items()}
    return CoordinationResult(np.array(steps), np.array(times), mean, fractions, len(rows))


def analyse_coordination(trajectory: Trajectory, options: CoordinationOptions, *,
                         progress: bool = True) -> CoordinationResult:
    """Stream the selected frames into coordination statistics."""
    frames = iterate_frames(trajectory, options.indices(trajectory), "coordination", progress=progress)
    return coordination_of_frames(frames, trajectory.numbers, options, source=str(trajectory.path))
