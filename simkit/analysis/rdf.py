"""Partial radial distribution functions g_ab(r) and running coordination numbers.

For species a and b, averaged over frames f::

    g_ab(r) = Σ_f n_ab,f(r) / ( Σ_f N_a (N_b - δ_ab) / V_f * 4π/3 (r_hi³ - r_lo³) )

where n_ab,f(r) counts ordered pairs (i in a, j in b, i ≠ j, every periodic
image) with distance in the bin. The running coordination number
``n_ab(r) = <number of b atoms within r of an a atom>`` is the cumulative pair
count divided by the number of a atoms, so it needs no integration of g.
Pair counting uses scipy's k-d tree ``count_neighbors`` on explicit periodic
images (exact for any cell and any r_max).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from ase.data import chemical_symbols
from scipy.spatial import cKDTree

from simkit.analysis.frames import iterate_frames
from simkit.analysis.neighbors import check_search_memory, has_volume, pad_cell
from simkit.analysis.options import RdfOptions
from simkit.analysis.output import new_figure, pair_label, save_figure, write_csv, write_hdf5
from simkit.errors import InputDataError
from simkit.io.h5md_reader import Frame
from simkit.io.trajectory import Trajectory


@dataclass
class RdfResult:
    """g(r) per unordered species pair plus the total, and running coordination per ordered pair."""

    r_A: np.ndarray  # bin centres
    edges_A: np.ndarray
    g: dict[str, np.ndarray]  # "a-b" (a <= b in species order) and "total"
    coordination: dict[str, np.ndarray]  # "a-b": b atoms within r of an a atom; "total"
    frames: int
    species: tuple[str, ...]

    def write(self, output_dir: Path, stem: str = "rdf") -> dict[str, Path]:
        output_dir = Path(output_dir)
        columns = {"r_A": self.r_A}
        columns.update({f"g_{k}": v for k, v in self.g.items()})
        columns.update({f"n_{k}": v for k, v in self.coordination.items()})
        datasets = {"r": (self.r_A, "Angstrom"), "bin_edges": (self.edges_A, "Angstrom")}
        datasets.update({f"g/{k}": (v, "1") for k, v in self.g.items()})
        datasets.update({f"coordination/{k}": (v, "1") for k, v in self.coordination.items()})
        figure = new_figure()
        axis = figure.add_subplot()
        for key, values in self.g.items():
            axis.plot(self.r_A, values, label=key, lw=1.2 if key != "total" else 2.0)
        axis.axhline(1.0, color="0.6", lw=0.8, ls=":")
        axis.set_xlabel("r (Å)")
        axis.set_ylabel("g(r)")
        axis.set_title(f"radial distribution ({self.frames} frames)")
        axis.legend(fontsize="small")
        return {
            "hdf5": write_hdf5(output_dir / f"{stem}.h5", datasets, {"frames": self.frames, "species": list(self.species)}),
            "csv": write_csv(output_dir / f"{stem}.csv", columns),
            "png": save_figure(figure, output_dir / f"{stem}.png"),
        }

    def first_peak_A(self, key: str | None = None) -> float:
        """Position (Å) of the first peak of g (default: the total, or the only pair).

        The first peak is the highest bin of the first stretch where g exceeds 1
        after rising from zero; not the global maximum, which in a crystal is often
        a later, more populated shell (3.84 Å rather than 2.35 Å in diamond Si).
        The stretch is found on g smoothed over ~PEAK_SMOOTHING_A, so noise that
        crosses 1 on the rising edge does not end it early.
        """
        g = self.g[key or ("total" if "total" in self.g else next(iter(self.g)))]
        above = np.nonzero(_smoothed(g, self.r_A, PEAK_SMOOTHING_A) > 1.0)[0]
        if not len(above):
            return float(self.r_A[int(np.argmax(g))])
        start = above[0]
        gaps = np.nonzero(np.diff(above) > 1)[0]
        stop = above[gaps[0]] + 1 if len(gaps) else above[-1] + 1
        return float(self.r_A[start + int(np.argmax(g[start:stop]))])

    def first_peaks_A(self) -> dict[str, float]:
        """:meth:`first_peak_A` of every pair (and the total)."""
        return {key: self.first_peak_A(key) for key in self.g}


# Width (Å) of the running mean used to find the first peak's stretch: wider than
# bin-to-bin noise at usual bin widths (0.01-0.05 Å), far narrower than the gap
# between the first and second neighbour shells (>= 1 Å in solids and liquids).
PEAK_SMOOTHING_A = 0.1


def _smoothed(values: np.ndarray, r_A: np.ndarray, width_A: float) -> np.ndarray:
    """Running mean over an odd number of bins spanning about ``width_A``."""
    bin_width = float(r_A[1] - r_A[0]) if len(r_A) > 1 else width_A
    half = int(round(width_A / bin_width / 2))
    if half < 1:
        return values
    kernel = np.full(2 * half + 1, 1.0 / (2 * half + 1))
    return np.convolve(values, kernel, mode="same")


class RdfAccumulator:
    """Adds frames one at a time; :meth:`result` normalises."""

    def __init__(self, species_numbers: Iterable[int], r_max_A: float, bin_width_A: float):
        self.numbers = tuple(sorted(set(int(z) for z in species_numbers)))
        self.species = tuple(chemical_symbols[z] for z in self.numbers)
        bins = int(np.ceil(r_max_A / bin_width_A))
        self.edges = np.linspace(0.0, bins * bin_width_A, bins + 1)
        self.r_max = float(self.edges[-1])
        self.pairs = [(a, b) for a in range(len(self.numbers)) for b in range(a, len(self.numbers))]
        self.counts = {pair: np.zeros(bins) for pair in self.pairs}
        # Per-frame terms of Σ_f N_a (N_b - δ_ab) / V_f, summed exactly (math.fsum) by result(), so that
        # accumulators of blocks of frames merge into bitwise the serial result (counts are integers).
        self.norm = {pair: [] for pair in self.pairs}
        self.centres = np.zeros(len(self.numbers))  # Σ_f N_a
        self.total_norm: list[float] = []
        self.frames = 0

    def add(self, positions: np.ndarray, cell: np.ndarray, pbc, numbers: np.ndarray) -> None:
        padded = pad_cell(positions, cell, pbc, self.r_max)
        volume = abs(np.linalg.det(cell))
        owner_numbers = numbers[padded.owner]
        members = [np.nonzero(numbers == z)[0] for z in self.numbers]
        trees = [cKDTree(padded.atoms[m]) for m in members]
        clouds = [cKDTree(padded.points[owner_numbers == z]) for z in self.numbers]
        for a, b in self.pairs:
            # First radius 0 catches each atom paired with itself; drop that bin.
            counts = trees[a].count_neighbors(clouds[b], self.edges, cumulative=False)
            self.counts[(a, b)] += counts[1:]
            n_a, n_b = len(members[a]), len(members[b])
            self.norm[(a, b)].append(n_a * (n_b - (a == b)) / volume)
        for a, m in enumerate(members):
            self.centres[a] += len(m)
        natoms = len(positions)
        self.total_norm.append(natoms * (natoms - 1) / volume)
        self.frames += 1

    def merge(self, other: "RdfAccumulator") -> None:
        """Add the frames ``other`` accumulated (same species and bins)."""
        if other.numbers != self.numbers or not np.array_equal(other.edges, self.edges):
            raise ValueError("cannot merge g(r) accumulators of different species or bins")
        for pair in self.pairs:
            self.counts[pair] += other.counts[pair]
            self.norm[pair] += other.norm[pair]
        self.centres += other.centres
        self.total_norm += other.total_norm
        self.frames += other.frames

    def add_frame(self, frame: Frame) -> None:
        self.add(frame.positions_A, frame.cell_A, frame.pbc, frame.numbers)

    def result(self) -> RdfResult:
        shells = 4.0 / 3.0 * np.pi * (self.edges[1:] ** 3 - self.edges[:-1] ** 3)
        r = 0.5 * (self.edges[1:] + self.edges[:-1])
        g, coordination = {}, {}
        total = np.zeros_like(r)
        for (a, b), counts in self.counts.items():
            name_a, name_b = self.species[a], self.species[b]
            g[pair_label(name_a, name_b)] = _ratio(counts, math.fsum(self.norm[(a, b)]) * shells)
            cumulative = np.cumsum(counts)
            coordination[pair_label(name_a, name_b)] = _ratio(cumulative, self.centres[a])
            if a != b:
                coordination[pair_label(name_b, name_a)] = _ratio(cumulative, self.centres[b])
                total += 2 * counts  # the unordered pair was counted from a's side only
            else:
                total += counts
        if len(self.species) > 1:
            g["total"] = _ratio(total, math.fsum(self.total_norm) * shells)
            coordination["total"] = _ratio(np.cumsum(total), self.centres.sum())
        return RdfResult(r, self.edges, g, coordination, self.frames, self.species)


def _ratio(numerator: np.ndarray, denominator) -> np.ndarray:
    denominator = np.broadcast_to(np.asarray(denominator, dtype=float), numerator.shape)
    return np.divide(numerator, denominator, out=np.zeros(numerator.shape), where=denominator > 0)


def rdf_of_frames(frames: Iterable[Frame], species_numbers: Iterable[int], options: RdfOptions, *,
                  source: str = "frames") -> RdfResult:
    """g(r) of any iterable of frames (e.g. synthetic ones in tests); ``source`` names them in errors."""
    return _accumulate(frames, species_numbers, options, source).result()


def _accumulate(frames: Iterable[Frame], species_numbers: Iterable[int], options: RdfOptions,
                source: str) -> RdfAccumulator:
    accumulator = RdfAccumulator(species_numbers, options.r_max_A, options.bin_width_A)
    for frame in frames:
        where = f"{source}: frame {frame.index}"
        if not has_volume(frame.cell_A):
            raise InputDataError(f"{where}: g(r) is normalised by the density, and the frame has no cell volume "
                                 "(no periodic cell, e.g. extended XYZ without a Lattice)")
        # The padded cell grows with the cube of r_max_A / cell width; bins do not bound it when they are wide.
        check_search_memory(frame.positions_A, frame.cell_A, frame.pbc, accumulator.r_max, options.memory_MiB,
                            angles=False, pairs=False, where=where, lower="r_max_A")
        accumulator.add_frame(frame)
    return accumulator


def rdf_partial(trajectory: Trajectory, options: RdfOptions, *, progress: bool = True,
                frames: np.ndarray | None = None) -> RdfAccumulator:
    """The unnormalised histograms of ``frames`` (a block of the selection; default all of it), for
    ranks that each take a block and merge (:mod:`simkit.analysis.parallel`)."""
    indices = options.indices(trajectory) if frames is None else frames
    return _accumulate(iterate_frames(trajectory, indices, "rdf", progress=progress), trajectory.numbers, options,
                       str(trajectory.path))


def analyse_rdf(trajectory: Trajectory, options: RdfOptions, *, progress: bool = True,
                frames: np.ndarray | None = None) -> RdfResult:
    """Stream the selected frames of ``trajectory`` (or the block ``frames`` of them) into partial g(r)."""
    return rdf_partial(trajectory, options, progress=progress, frames=frames).result()
