"""Mean squared displacement over every time origin, by FFT, per species, in atom blocks.

For one particle with unwrapped positions r(0..T-1)::

    MSD(m) = 1/(T-m) Σ_{k=0}^{T-1-m} |r(k+m) - r(k)|²
           = S1(m) - 2 S2(m)
    S1(m)  = 1/(T-m) Σ_{k=0}^{T-1-m} (|r(k)|² + |r(k+m)|²)      (a running sum, O(T))
    S2(m)  = 1/(T-m) Σ_{k=0}^{T-1-m} r(k) · r(k+m)                (an autocorrelation, by FFT)

(the "fast correlation algorithm" of Kneller et al., Comput. Phys. Commun. 91,
191 (1995)), so all origins cost O(T log T) per particle instead of O(T²).
Positions are shifted to their time average first, which leaves every
difference unchanged and keeps the subtraction S1 - 2 S2 well conditioned.

Long trajectories are processed in blocks of atoms sized from a memory budget:
each block is read from the file (positions + image flags -> unwrapped) for
all selected frames, transformed, and added to the per-species sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.fft
from ase.data import atomic_masses, chemical_symbols
from tqdm import tqdm

from simkit.analysis.options import MsdOptions
from simkit.analysis.output import new_figure, save_figure, write_csv, write_hdf5
from simkit.errors import InputDataError
from simkit.io.trajectory import Trajectory

# Bytes per (frame, atom) while a block is transformed: positions, FFT buffer, products.
_BYTES_PER_FRAME_ATOM = 160


def msd_fft(positions: np.ndarray, per_particle: bool = False) -> np.ndarray:
    """MSD over all time origins of unwrapped ``positions[T, N, 3]`` (any length unit squared).

    Returns ``msd[T]`` averaged over particles, or ``msd[T, N]`` with
    ``per_particle=True``; ``msd[0] == 0``. Frames must be equally spaced in time.
    """
    r = np.asarray(positions, dtype=float)
    if r.ndim != 3 or r.shape[2] != 3:
        raise ValueError(f"positions must have shape (T, N, 3), got {r.shape}")
    frames = r.shape[0]
    if frames == 0:
        return np.zeros((0, r.shape[1])) if per_particle else np.zeros(0)
    r = r - r.mean(axis=0, keepdims=True)
    squares = np.sum(r * r, axis=2)  # (T, N)
    remaining = frames - np.arange(frames)  # T - m
    # S1: 2 Σ D(k) minus the first m and the last m terms.
    total = 2.0 * squares.sum(axis=0)
    head = np.concatenate([np.zeros((1, r.shape[1])), np.cumsum(squares, axis=0)[:-1]])
    tail = np.concatenate([np.zeros((1, r.shape[1])), np.cumsum(squares[::-1], axis=0)[:-1]])
    s1 = (total - head - tail) / remaining[:, None]
    size = scipy.fft.next_fast_len(2 * frames)
    spectrum = scipy.fft.rfft(r, n=size, axis=0)
    power = (spectrum * spectrum.conj()).real.sum(axis=2)
    s2 = scipy.fft.irfft(power, n=size, axis=0)[:frames] / remaining[:, None]
    msd = s1 - 2.0 * s2
    msd[0] = 0.0
    return msd if per_particle else msd.mean(axis=1)


def msd_direct(positions: np.ndarray) -> np.ndarray:
    """The O(T²) definition, for checking :func:`msd_fft` on small inputs."""
    r = np.asarray(positions, dtype=float)
    frames = r.shape[0]
    out = np.zeros(frames)
    for lag in range(1, frames):
        out[lag] = np.mean(np.sum((r[lag:] - r[:-lag]) ** 2, axis=2))
    return out


@dataclass
class MsdResult:
    lag_ps: np.ndarray
    lag_steps: np.ndarray
    msd_A2: dict[str, np.ndarray]  # species and "all"
    atoms: dict[str, int]

    def write(self, output_dir: Path, stem: str = "msd") -> dict[str, Path]:
        output_dir = Path(output_dir)
        columns = {"lag_ps": self.lag_ps, "lag_steps": self.lag_steps}
        columns.update({f"msd_{k}_A2": v for k, v in self.msd_A2.items()})
        datasets = {"lag": (self.lag_ps, "ps"), "lag_steps": (self.lag_steps, "1")}
        datasets.update({f"msd/{k}": (v, "Angstrom2") for k, v in self.msd_A2.items()})
        figure = new_figure()
        axis = figure.add_subplot()
        for key, values in self.msd_A2.items():
            axis.loglog(self.lag_ps[1:], values[1:], label=f"{key} ({self.atoms[key]} atoms)")
        axis.set_xlabel("lag time (ps)")
        axis.set_ylabel("MSD (Å²)")
        axis.set_title("mean squared displacement (all time origins)")
        axis.legend(fontsize="small")
        return {
            "hdf5": write_hdf5(output_dir / f"{stem}.h5", datasets, {"atoms": self.atoms}),
            "csv": write_csv(output_dir / f"{stem}.csv", columns),
            "png": save_figure(figure, output_dir / f"{stem}.png"),
        }


def atoms_per_block(frames: int, memory_MiB: float) -> int:
    """Atoms whose whole time series fits the budget (at least 1)."""
    return max(1, int(memory_MiB * 2**20 // (_BYTES_PER_FRAME_ATOM * max(frames, 1))))


def _check_uniform(trajectory: Trajectory, indices: np.ndarray) -> np.ndarray:
    steps = trajectory.steps[indices]
    gaps = np.diff(steps)
    if len(gaps) and np.any(gaps != gaps[0]):
        where = int(np.nonzero(gaps != gaps[0])[0][0])
        raise InputDataError(
            f"{trajectory.path}: MSD needs equally spaced frames; steps {steps[where]} -> {steps[where + 1]} "
            f"differ from the first spacing of {gaps[0]} (select a uniform part with start/stop)"
        )
    return steps - steps[0]


def _centre_of_mass(trajectory: Trajectory, indices: np.ndarray, block: int) -> np.ndarray:
    masses = np.array([atomic_masses[z] if z > 0 else 1.0 for z in trajectory.numbers])
    weighted = np.zeros((len(indices), 3))
    for start in range(0, trajectory.natoms, block):
        atoms = slice(start, min(start + block, trajectory.natoms))
        weighted += np.einsum("fnk,n->fk", trajectory.positions(indices, atoms), masses[atoms])
    return weighted / masses.sum()


def stream_msd(trajectory: Trajectory, indices: np.ndarray, groups: dict[str, np.ndarray], *,
               memory_MiB: float = 1024.0, remove_drift: bool = False, progress: bool = True) -> dict[str, np.ndarray]:
    """MSD (Å²) of each group of atoms (boolean masks over all atoms) for equally spaced frames ``indices``.

    Reads blocks of atoms (unwrapped, all selected frames) within ``memory_MiB``,
    so any trajectory length fits; each block is read once. ``remove_drift``
    subtracts the mass-weighted centre-of-mass displacement of each frame first.
    """
    _check_uniform(trajectory, indices)
    block = atoms_per_block(len(indices), memory_MiB)
    drift = _centre_of_mass(trajectory, indices, block) if remove_drift else None
    masks = {name: np.asarray(mask, dtype=bool) for name, mask in groups.items()}
    sums = {name: np.zeros(len(indices)) for name in masks}
    bar = tqdm(total=trajectory.natoms, desc="msd", unit="atom", disable=None if progress else True)
    for start in range(0, trajectory.natoms, block):
        atoms = slice(start, min(start + block, trajectory.natoms))
        positions = trajectory.positions(indices, atoms)
        if drift is not None:
            positions -= drift[:, None, :]
        per_atom = msd_fft(positions, per_particle=True)
        for name, mask in masks.items():
            sums[name] += per_atom[:, mask[atoms]].sum(axis=1)
        bar.update(atoms.stop - atoms.start)
    bar.close()
    return {name: sums[name] / max(int(masks[name].sum()), 1) for name in masks}


def analyse_msd(trajectory: Trajectory, options: MsdOptions, *, progress: bool = True) -> MsdResult:
    """Per-species MSD from the file, streaming blocks of atoms (see :func:`stream_msd`)."""
    trajectory.require_unwrapped("msd")  # first: no frame selection could make it possible
    indices = options.indices(trajectory)
    lag_steps = _check_uniform(trajectory, indices)
    lag_ps = trajectory.times_ps[indices] - trajectory.times_ps[indices[0]]
    numbers = trajectory.numbers
    groups = {chemical_symbols[z]: numbers == z for z in sorted(set(numbers.tolist()))}
    if len(groups) > 1:
        groups["all"] = np.ones(trajectory.natoms, dtype=bool)
    msd = stream_msd(trajectory, indices, groups, memory_MiB=options.memory_MiB, remove_drift=options.remove_drift,
                     progress=progress)
    return MsdResult(lag_ps, lag_steps, msd, {name: int(mask.sum()) for name, mask in groups.items()})
