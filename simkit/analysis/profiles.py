"""Density and composition profiles along a cell vector.

Atoms are binned by their wrapped fractional coordinate along cell vector
``axis`` (0, 1, 2 = a, b, c), so every bin is a slab of volume V / bins even
in a triclinic cell. Per bin: number density of each species (atoms/Å³), mass
density (g/cm³) and composition (atom fraction). Profiles are kept per frame
(a melt front moving in time) and averaged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from ase.data import atomic_masses, chemical_symbols

from simkit.analysis.frames import iterate_frames
from simkit.analysis.neighbors import wrap_into_cell
from simkit.analysis.options import ProfileOptions
from simkit.analysis.output import new_figure, save_figure, write_csv, write_hdf5
from simkit.io.h5md_reader import Frame
from simkit.io.trajectory import Trajectory
from simkit.units import AVOGADRO_PER_MOL, CM_PER_A


def slab_index(positions: np.ndarray, cell: np.ndarray, pbc, axis: int, bins: int) -> np.ndarray:
    """Slab (0..bins-1) of each atom along cell vector ``axis``."""
    fractional = np.linalg.solve(np.asarray(cell).T, wrap_into_cell(positions, cell, pbc).T).T[:, axis]
    return np.clip((fractional * bins).astype(np.int64), 0, bins - 1)


@dataclass
class ProfileResult:
    position_A: np.ndarray  # slab centres along the axis (mean over frames)
    steps: np.ndarray
    times_ps: np.ndarray
    number_density: dict[str, np.ndarray]  # species -> (frames, bins), atoms/Å³
    mass_density_g_per_cm3: np.ndarray  # (frames, bins)
    axis: int
    cell_lengths_A: np.ndarray  # (frames,) length of the profile's cell vector

    @property
    def frames(self) -> int:
        return len(self.steps)

    @classmethod
    def merge(cls, parts: list["ProfileResult"]) -> "ProfileResult":
        """One result from results of consecutive blocks of frames (in order).

        Slab centres are the mean cell length over all frames, as the serial run computes them.
        """
        lengths = np.concatenate([p.cell_lengths_A for p in parts])
        bins = len(parts[0].position_A)
        return cls((np.arange(bins) + 0.5) / bins * np.mean(lengths),
                   np.concatenate([p.steps for p in parts]), np.concatenate([p.times_ps for p in parts]),
                   {k: np.concatenate([p.number_density[k] for p in parts]) for k in parts[0].number_density},
                   np.concatenate([p.mass_density_g_per_cm3 for p in parts]), parts[0].axis, lengths)

    def composition(self) -> dict[str, np.ndarray]:
        """Time-averaged atom fraction of each species per slab."""
        totals = sum(v.mean(axis=0) for v in self.number_density.values())
        return {k: np.divide(v.mean(axis=0), totals, out=np.zeros_like(totals), where=totals > 0)
                for k, v in self.number_density.items()}

    def write(self, output_dir: Path, stem: str = "profiles") -> dict[str, Path]:
        output_dir = Path(output_dir)
        composition = self.composition()
        columns = {"position_A": self.position_A, "mass_density_g_per_cm3": self.mass_density_g_per_cm3.mean(axis=0)}
        columns.update({f"number_density_{k}_per_A3": v.mean(axis=0) for k, v in self.number_density.items()})
        columns.update({f"fraction_{k}": v for k, v in composition.items()})
        datasets = {
            "position": (self.position_A, "Angstrom"), "step": (self.steps, "1"), "time": (self.times_ps, "ps"),
            "mass_density": (self.mass_density_g_per_cm3, "g cm-3"),
        }
        datasets.update({f"number_density/{k}": (v, "Angstrom-3") for k, v in self.number_density.items()})
        figure = new_figure(6.4, 6.0)
        top, bottom = figure.subplots(2, 1, sharex=True)
        top.plot(self.position_A, self.mass_density_g_per_cm3.mean(axis=0), color="k")
        top.set_ylabel("mass density (g/cm³)")
        for key, values in composition.items():
            bottom.plot(self.position_A, values, label=key)
        bottom.set_ylabel("atom fraction")
        bottom.set_xlabel(f"position along cell vector {'abc'[self.axis]} (Å)")
        bottom.legend(fontsize="small")
        top.set_title(f"profiles ({self.frames} frames)")
        return {
            "hdf5": write_hdf5(output_dir / f"{stem}.h5", datasets, {"axis": self.axis, "frames": self.frames}),
            "csv": write_csv(output_dir / f"{stem}.csv", columns),
            "png": save_figure(figure, output_dir / f"{stem}.png"),
        }


def profiles_of_frames(frames: Iterable[Frame], species_numbers: Iterable[int], options: ProfileOptions) -> ProfileResult:
    species = tuple(sorted(set(int(z) for z in species_numbers)))
    symbols = [chemical_symbols[z] for z in species]
    density = {s: [] for s in symbols}
    mass, steps, times, lengths = [], [], [], []
    for frame in frames:
        slabs = slab_index(frame.positions_A, frame.cell_A, frame.pbc, options.axis, options.bins)
        slab_volume = frame.volume_A3 / options.bins
        frame_mass = np.zeros(options.bins)
        for z, name in zip(species, symbols):
            counts = np.bincount(slabs[frame.numbers == z], minlength=options.bins)
            density[name].append(counts / slab_volume)
            frame_mass += counts * atomic_masses[z]
        # g/mol per Å³ -> g/cm³
        mass.append(frame_mass / slab_volume / AVOGADRO_PER_MOL / CM_PER_A**3)
        steps.append(frame.step)
        times.append(frame.time_ps)
        lengths.append(np.linalg.norm(frame.cell_A[options.axis]))
    edges = (np.arange(options.bins) + 0.5) / options.bins * np.mean(lengths)
    return ProfileResult(edges, np.array(steps), np.array(times), {k: np.array(v) for k, v in density.items()},
                         np.array(mass), options.axis, np.array(lengths))


def analyse_profiles(trajectory: Trajectory, options: ProfileOptions, *, progress: bool = True,
                     frames: np.ndarray | None = None) -> ProfileResult:
    """Stream the selected frames (or the block ``frames`` of them) into density and composition profiles."""
    indices = options.indices(trajectory) if frames is None else frames
    stream = iterate_frames(trajectory, indices, "profiles", progress=progress)
    return profiles_of_frames(stream, trajectory.numbers, options)
