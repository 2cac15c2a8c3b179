"""Bond-angle distributions: the angle j-i-k at centre i between two of its neighbours.

Neighbours are atoms within ``cutoff_A`` (or a per-pair cutoff such as
``{"Ge-Te": 3.2}``). Triplets are labelled ``A-B-C`` with B the centre and A <= C
in species order. Distributions are normalised to unit area (per degree).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from ase.data import chemical_symbols

from simkit.analysis.frames import iterate_frames
from simkit.analysis.neighbors import NeighbourList, check_search_memory, neighbour_list
from simkit.analysis.options import AngleOptions
from simkit.analysis.output import new_figure, save_figure, write_csv, write_hdf5
from simkit.io.h5md_reader import Frame
from simkit.io.trajectory import Trajectory


def pair_cutoff_matrix(numbers: tuple[int, ...], cutoff_A: float, pair_cutoffs_A: dict[str, float]) -> np.ndarray:
    """Symmetric cutoff per species pair (rows/columns in ``numbers`` order)."""
    symbols = [chemical_symbols[z] for z in numbers]
    matrix = np.full((len(numbers), len(numbers)), float(cutoff_A))
    for key, value in pair_cutoffs_A.items():
        a, b = key.split("-")
        if a in symbols and b in symbols:
            matrix[symbols.index(a), symbols.index(b)] = matrix[symbols.index(b), symbols.index(a)] = value
    return matrix


def species_neighbours(positions, cell, pbc, numbers: np.ndarray, species: tuple[int, ...],
                       cutoffs: np.ndarray) -> tuple[NeighbourList, np.ndarray]:
    """Neighbour list with per-pair cutoffs, and each atom's species index."""
    index_of = {z: k for k, z in enumerate(species)}
    kind = np.array([index_of[int(z)] for z in numbers])
    full = neighbour_list(positions, cell, pbc, float(cutoffs.max()))
    keep = full.distances <= cutoffs[kind[full.i], kind[full.j]]
    chosen = NeighbourList(full.i[keep], full.j[keep], full.vectors[keep], full.distances[keep], full.natoms)
    return chosen, kind


@dataclass
class AngleResult:
    angles_deg: np.ndarray  # bin centres
    distributions: dict[str, np.ndarray]  # "A-B-C" and "all", per degree, unit area
    triplets: dict[str, int]
    frames: int

    def write(self, output_dir: Path, stem: str = "angles") -> dict[str, Path]:
        output_dir = Path(output_dir)
        columns = {"angle_deg": self.angles_deg}
        columns.update({f"P_{k}_per_deg": v for k, v in self.distributions.items()})
        datasets = {"angle": (self.angles_deg, "degree")}
        datasets.update({f"distribution/{k}": (v, "degree-1") for k, v in self.distributions.items()})
        figure = new_figure()
        axis = figure.add_subplot()
        for key, values in self.distributions.items():
            axis.plot(self.angles_deg, values, label=key, lw=2.0 if key == "all" else 1.2)
        axis.set_xlabel("bond angle (degrees)")
        axis.set_ylabel("probability density (1/degree)")
        axis.set_xlim(0, 180)
        axis.set_title(f"bond-angle distribution ({self.frames} frames)")
        axis.legend(fontsize="small")
        attrs = {"frames": self.frames, "triplets": self.triplets}
        return {
            "hdf5": write_hdf5(output_dir / f"{stem}.h5", datasets, attrs),
            "csv": write_csv(output_dir / f"{stem}.csv", columns),
            "png": save_figure(figure, output_dir / f"{stem}.png"),
        }


def triplet_angles(neighbours: NeighbourList) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every angle j-i-k (degrees) with j < k among i's neighbours: (angles, i, j, k)."""
    counts = neighbours.counts()
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    unit = neighbours.vectors / neighbours.distances[:, None]
    angles, centres, firsts, seconds = [], [], [], []
    for first in range(int(counts.max(initial=0))):
        for second in range(first + 1, int(counts.max(initial=0))):
            centre = np.nonzero(counts > second)[0]
            if not len(centre):
                break
            p, q = starts[centre] + first, starts[centre] + second
            cosine = np.clip(np.sum(unit[p] * unit[q], axis=1), -1.0, 1.0)
            angles.append(np.degrees(np.arccos(cosine)))
            centres.append(centre)
            firsts.append(neighbours.j[p])
            seconds.append(neighbours.j[q])
    if not angles:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0), empty, empty, empty
    return np.concatenate(angles), np.concatenate(centres), np.concatenate(firsts), np.concatenate(seconds)


class AngleAccumulator:
    def __init__(self, species_numbers: Iterable[int], options: AngleOptions):
        self.numbers = tuple(sorted(set(int(z) for z in species_numbers)))
        self.symbols = tuple(chemical_symbols[z] for z in self.numbers)
        self.cutoffs = pair_cutoff_matrix(self.numbers, options.cutoff_A, options.pair_cutoffs_A)
        bins = int(np.ceil(180.0 / options.bin_width_deg))
        self.edges = np.linspace(0.0, 180.0, bins + 1)
        self.histograms: dict[str, np.ndarray] = {}
        self.frames = 0

    def add(self, positions, cell, pbc, numbers) -> None:
        neighbours, kind = species_neighbours(positions, cell, pbc, numbers, self.numbers, self.cutoffs)
        angles, centre, first, second = triplet_angles(neighbours)
        a, b = np.minimum(kind[first], kind[second]), np.maximum(kind[first], kind[second])
        nspecies = len(self.numbers)
        code = (a * nspecies + kind[centre]) * nspecies + b
        for value in np.unique(code):
            sa, rest = divmod(int(value), nspecies * nspecies)
            sb, sc = divmod(rest, nspecies)
            key = f"{self.symbols[sa]}-{self.symbols[sb]}-{self.symbols[sc]}"
            hist, _ = np.histogram(angles[code == value], bins=self.edges)
            self.histograms[key] = self.histograms.get(key, 0) + hist
        self.frames += 1

    def result(self) -> AngleResult:
        width = np.diff(self.edges)
        centres = 0.5 * (self.edges[1:] + self.edges[:-1])
        distributions, triplets = {}, {}
        total = np.zeros(len(centres))
        for key in sorted(self.histograms):
            hist = self.histograms[key]
            total += hist
            triplets[key] = int(hist.sum())
            distributions[key] = hist / max(hist.sum(), 1) / width
        if len(distributions) != 1:
            distributions["all"] = total / max(total.sum(), 1) / width
        triplets["all"] = int(total.sum())
        return AngleResult(centres, distributions, triplets, self.frames)


def angles_of_frames(frames: Iterable[Frame], species_numbers: Iterable[int], options: AngleOptions, *,
                     source: str = "frames") -> AngleResult:
    """``source`` names the frames' file in errors."""
    accumulator = AngleAccumulator(species_numbers, options)
    cutoff_A = float(accumulator.cutoffs.max())  # the search reaches the largest cutoff, then filters
    for frame in frames:
        check_search_memory(frame.positions_A, frame.cell_A, frame.pbc, cutoff_A, options.memory_MiB, angles=True,
                            where=f"{source}: frame {frame.index}")
        accumulator.add(frame.positions_A, frame.cell_A, frame.pbc, frame.numbers)
    return accumulator.result()


def analyse_angles(trajectory: Trajectory, options: AngleOptions, *, progress: bool = True) -> AngleResult:
    """Stream the selected frames into bond-angle distributions."""
    frames = iterate_frames(trajectory, options.indices(trajectory), "angles", progress=progress)
    return angles_of_frames(frames, trajectory.numbers, options, source=str(trajectory.path))
