"""One streamed pass over a trajectory: everything diffusion needs from the particles' displacements.

For each group of atoms (a species) the pass collects

* the mean squared displacement at **every** lag, averaged over every time
  origin (by FFT: :func:`simkit.analysis.msd.msd_fft`);
* on a grid of lags (log-spaced plus evenly spaced, see :func:`lag_grid`):
  each particle's MSD (for the bootstrap over particles), the group's mean
  fourth moment <|dr|^4> over every origin (for alpha_2), and at a few lags
  the histogram of |dr| over every origin (the self van Hove function);
* the sum of the group's unwrapped positions per frame (for collective
  diffusion), and optionally the charge-weighted sum over all atoms.

The fourth moment is evaluated directly, lag by lag, rather than by an
FFT expansion of |dr|^4: the expansion subtracts terms of order |r|^4
(hundreds of Å to the fourth power in a long liquid run) to get moments of
order 1e-5 Å^4 at short lags, which float64 cannot resolve.

Atoms are read in blocks (all selected frames of a range of atoms) sized from
``memory_MiB``, so any trajectory length fits; each block is read once.
Sources are :class:`simkit.io.H5mdTrajectory` files or an :class:`ArrayTrajectory`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from simkit.analysis.msd import msd_fft
from simkit.errors import InputDataError

# Bytes per (frame, atom) while a block is read and kept: the reader's float64 positions, images and
# image shifts, then the unwrapped positions held for the whole block.
_BYTES_PER_FRAME_READ = 112
# Bytes per (frame, atom) of the transforms, done on sub-blocks: msd_fft's buffers, one lag's displacements.
_BYTES_PER_FRAME_WORK = 200
# Share of the memory budget for reading; the rest is for the transforms.
_READ_SHARE = 0.7


class PositionSource(Protocol):
    """What the pass reads: an H5MD trajectory or anything with the same few members."""

    path: Path
    natoms: int
    numbers: np.ndarray
    steps: np.ndarray
    times_ps: np.ndarray

    def positions(self, frames, atoms: slice = slice(None), *, unwrapped: bool = True) -> np.ndarray: ...

    def cell(self, index: int) -> np.ndarray: ...


@dataclass
class ArrayTrajectory:
    """Unwrapped positions held in memory, read like an H5MD trajectory (tests, synthetic data, callers' arrays)."""

    positions_A: np.ndarray  # (T, N, 3), unwrapped
    numbers: np.ndarray  # (N,) atomic numbers
    times_ps: np.ndarray  # (T,)
    cell_A: np.ndarray = field(default_factory=lambda: np.eye(3) * 100.0)
    path: Path = Path("<array>")

    def __post_init__(self) -> None:
        self.positions_A = np.asarray(self.positions_A, dtype=float)
        self.numbers = np.asarray(self.numbers, dtype=np.int32)
        self.times_ps = np.asarray(self.times_ps, dtype=float)
        frames, atoms = self.positions_A.shape[:2]
        if self.positions_A.shape != (frames, atoms, 3) or self.numbers.shape != (atoms,) \
                or self.times_ps.shape != (frames,):
            raise ValueError("need positions (T, N, 3), numbers (N,) and times (T,)")
        self.steps = np.arange(frames, dtype=np.int64)

    @property
    def natoms(self) -> int:
        return self.positions_A.shape[1]

    def __len__(self) -> int:
        return len(self.times_ps)

    def positions(self, frames, atoms: slice = slice(None), *, unwrapped: bool = True) -> np.ndarray:
        return self.positions_A[frames, atoms].copy()

    def cell(self, index: int) -> np.ndarray:
        return np.asarray(self.cell_A, dtype=float)


def lag_grid(frames: int, max_lag_fraction: float, points_per_decade: int, linear_points: int,
             extra: tuple[int, ...] = ()) -> np.ndarray:
    """Lags (in frames, >= 1, sorted, distinct) up to ``max_lag_fraction`` of the run: log-spaced
    ``points_per_decade``, plus ``linear_points`` evenly spaced, plus ``extra``."""
    longest = max(1, min(frames - 1, int(np.floor(max_lag_fraction * (frames - 1)))))
    decades = np.log10(longest) if longest > 1 else 0.0
    log_lags = np.round(np.logspace(0.0, decades, max(2, int(np.ceil(decades * points_per_decade)) + 1)))
    linear = np.round(np.linspace(0, longest, linear_points + 1)[1:]) if linear_points else np.zeros(0)
    lags = np.concatenate([log_lags, linear, np.asarray(extra, dtype=float)]).astype(np.int64)
    return np.unique(lags[(lags >= 1) & (lags <= frames - 1)])


@dataclass
class GroupDisplacements:
    """Displacement statistics of one group of atoms (lags in frames of the pass)."""

    atoms: int
    msd_A2: np.ndarray  # (T,) every lag
    grid_msd_A2: np.ndarray  # (G,)
    grid_quartic_A4: np.ndarray  # (G,) mean |dr|^4
    particle_msd_A2: np.ndarray  # (atoms, G)
    van_hove_counts: np.ndarray  # (V, bins) histogram of |dr| over particles and origins
    position_sum_A: np.ndarray | None  # (T, 3) sum of unwrapped positions, for collective diffusion

    @property
    def alpha2(self) -> np.ndarray:
        """Non-Gaussian parameter on the grid: 3 <dr^4> / (5 <dr^2>^2) - 1 (3D)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return 3.0 * self.grid_quartic_A4 / (5.0 * self.grid_msd_A2**2) - 1.0


@dataclass
class Displacements:
    """The result of :func:`displacement_pass`."""

    source: str
    frame_interval_ps: float
    frames: int
    grid: np.ndarray  # lags in frames
    van_hove_lags: np.ndarray  # lags in frames, a subset of the grid
    van_hove_bin_width_A: float
    volume_A3: float
    groups: dict[str, GroupDisplacements]
    charge_sum_eA: np.ndarray | None = None  # (T, 3) sum of q_i r_i over charged atoms

    @property
    def lag_ps(self) -> np.ndarray:
        return np.arange(self.frames) * self.frame_interval_ps

    @property
    def grid_ps(self) -> np.ndarray:
        return self.grid * self.frame_interval_ps

    @property
    def duration_ps(self) -> float:
        return (self.frames - 1) * self.frame_interval_ps


def frame_interval(source: PositionSource, indices: np.ndarray) -> float:
    """The constant time between the selected frames (ps); unequal spacing is an error naming the frame."""
    if len(indices) < 3:
        raise InputDataError(f"{source.path}: diffusion needs at least 3 frames, {len(indices)} selected")
    steps = np.asarray(source.steps)[indices]
    gaps = np.diff(steps)
    if np.any(gaps != gaps[0]):
        where = int(np.nonzero(gaps != gaps[0])[0][0])
        raise InputDataError(
            f"{source.path}: frames must be equally spaced; steps {steps[where]} -> {steps[where + 1]} differ "
            f"from the first spacing of {gaps[0]} steps (frame {int(indices[where + 1])}; use start_ps to skip)"
        )
    times = np.asarray(source.times_ps)[indices]
    return float((times[-1] - times[0]) / (len(indices) - 1))


def _blocks(needed: np.ndarray, frames: int, memory_MiB: float) -> tuple[list[slice], int]:
    """Contiguous atom ranges read one at a time (each within the reading share of ``memory_MiB``),
    and the number of atoms transformed at once."""
    budget = memory_MiB * 2**20
    per_atom = frames * max(_BYTES_PER_FRAME_READ / _READ_SHARE, _BYTES_PER_FRAME_WORK / (1 - _READ_SHARE))
    if per_atom > budget:
        raise InputDataError(
            f"one atom's {frames} frames need {per_atom / 2**20:.0f} MiB, more than memory_MiB = "
            f"{memory_MiB:g}: raise memory_MiB or use a larger stride"
        )
    read_atoms = int(budget * _READ_SHARE // (frames * _BYTES_PER_FRAME_READ))
    work_atoms = int(budget * (1 - _READ_SHARE) // (frames * _BYTES_PER_FRAME_WORK))
    where = np.nonzero(needed)[0]
    blocks, start = [], 0
    while start < len(where):
        # Atoms between needed ones are read too (HDF5 reads contiguous ranges): they count against the budget.
        stop = start + int(np.searchsorted(where[start:], where[start] + read_atoms, side="left"))
        stop = max(stop, start + 1)
        blocks.append(slice(int(where[start]), int(where[stop - 1]) + 1))
        start = stop
    return blocks, max(1, work_atoms)


def _mean_volume(source: PositionSource, indices: np.ndarray) -> float:
    picks = indices[np.unique(np.linspace(0, len(indices) - 1, min(len(indices), 20)).astype(int))]
    return float(np.mean([abs(np.linalg.det(source.cell(int(i)))) for i in picks]))


def displacement_pass(
    source: PositionSource,
    indices: np.ndarray,
    groups: dict[str, np.ndarray],
    *,
    grid: np.ndarray,
    van_hove_lags: np.ndarray | None = None,
    van_hove_bin_width_A: float = 0.05,
    collective: bool = True,
    charges_e: np.ndarray | None = None,
    memory_MiB: float = 1024.0,
    progress: bool = True,
) -> Displacements:
    """Read the ``indices`` frames of ``source`` once, in atom blocks, and collect every statistic.

    ``groups`` maps names to boolean masks over all atoms; ``grid`` holds lags in
    frames (``van_hove_lags`` must be among them); ``charges_e`` (per atom, e)
    adds the charge-weighted position sum over atoms with a non-zero charge.
    """
    indices = np.asarray(indices, dtype=np.int64)
    dt = frame_interval(source, indices)
    frames = len(indices)
    grid = np.asarray(grid, dtype=np.int64)
    van_hove_lags = np.zeros(0, dtype=np.int64) if van_hove_lags is None else np.asarray(van_hove_lags, dtype=np.int64)
    if len(grid) == 0 or grid.min() < 1 or grid.max() >= frames:
        raise ValueError(f"grid lags must lie in [1, {frames - 1}]")
    missing = sorted(set(van_hove_lags.tolist()) - set(grid.tolist()))
    if missing:
        raise ValueError(f"van Hove lags {missing} are not in the lag grid")
    masks = {name: np.asarray(mask, dtype=bool) for name, mask in groups.items()}
    for name, mask in masks.items():
        if mask.shape != (source.natoms,) or not mask.any():
            raise InputDataError(f"{source.path}: group {name!r} selects no atoms")
    charged = np.zeros(source.natoms, dtype=bool) if charges_e is None else np.asarray(charges_e) != 0
    needed = np.logical_or.reduce(list(masks.values())) | charged

    msd_sum = {name: np.zeros(frames) for name in masks}
    quartic_sum = {name: np.zeros(len(grid)) for name in masks}
    particle_msd = {name: [] for name in masks}
    counts = {name: [np.zeros(0, dtype=np.int64) for _ in van_hove_lags] for name in masks}
    position_sum = {name: np.zeros((frames, 3)) for name in masks} if collective else {}
    charge_sum = np.zeros((frames, 3)) if charges_e is not None else None
    van_hove_slot = {int(lag): k for k, lag in enumerate(van_hove_lags)}

    blocks, work = _blocks(needed, frames, memory_MiB)
    bar = tqdm(total=int(needed.sum()), desc="displacements", unit="atom", disable=None if progress else True)
    for block in blocks:
        keep = needed[block]
        positions = source.positions(indices, block)[:, keep]
        if charge_sum is not None:
            charge_sum += np.einsum("tnk,n->tk", positions, np.asarray(charges_e, dtype=float)[block][keep])
        block_masks = {name: mask[block][keep] for name, mask in masks.items()}
        for first in range(0, positions.shape[1], work):
            part = slice(first, first + work)
            local = {name: sel[part] for name, sel in block_masks.items() if sel[part].any()}
            r = positions[:, part]
            per_particle = msd_fft(r, per_particle=True)  # (T, n): every origin, every lag
            for name, sel in local.items():
                msd_sum[name] += per_particle[:, sel].sum(axis=1)
                particle_msd[name].append(per_particle[grid][:, sel].T)
                if collective:
                    position_sum[name] += r[:, sel].sum(axis=1)
            del per_particle
            for j, lag in enumerate(grid):
                d = r[lag:] - r[:-lag]
                squared = np.einsum("tnk,tnk->tn", d, d)
                del d
                slot = van_hove_slot.get(int(lag))
                bins = (np.sqrt(squared) / van_hove_bin_width_A).astype(np.int64) if slot is not None else None
                for name, sel in local.items():
                    chosen = squared[:, sel]
                    quartic_sum[name][j] += np.einsum("tn,tn->", chosen, chosen)
                    if bins is not None:
                        counts[name][slot] = _add_counts(counts[name][slot], np.bincount(bins[:, sel].ravel()))
            bar.update(r.shape[1])
        del positions
    bar.close()

    result = {}
    for name, mask in masks.items():
        n = int(mask.sum())
        width = max((len(c) for c in counts[name]), default=0)
        histogram = np.zeros((len(van_hove_lags), width), dtype=np.int64)
        for k, c in enumerate(counts[name]):
            histogram[k, :len(c)] = c
        particles = np.concatenate(particle_msd[name], axis=0)
        result[name] = GroupDisplacements(
            atoms=n,
            msd_A2=msd_sum[name] / n,
            grid_msd_A2=particles.mean(axis=0),
            grid_quartic_A4=quartic_sum[name] / (n * (frames - grid)),
            particle_msd_A2=particles,
            van_hove_counts=histogram,
            position_sum_A=position_sum.get(name),
        )
    return Displacements(
        source=str(source.path), frame_interval_ps=dt, frames=frames, grid=grid, van_hove_lags=van_hove_lags,
        van_hove_bin_width_A=van_hove_bin_width_A, volume_A3=_mean_volume(source, indices), groups=result,
        charge_sum_eA=charge_sum,
    )


def _add_counts(total: np.ndarray, new: np.ndarray) -> np.ndarray:
    if len(new) > len(total):
        total = np.concatenate([total, np.zeros(len(new) - len(total), dtype=np.int64)])
    total[:len(new)] += new
    return total


@dataclass(frozen=True)
class VanHove:
    """Self van Hove function of one group at one lag (r at bin centres)."""

    lag_ps: float
    r_A: np.ndarray
    g_s_per_A3: np.ndarray  # G_s(r, t): integral of 4 pi r^2 G_s dr = 1
    radial_per_A: np.ndarray  # 4 pi r^2 G_s(r, t): integral dr = 1
    gaussian_per_A: np.ndarray  # the same for a Gaussian of equal MSD


def van_hove(displacements: Displacements, group: str) -> list[VanHove]:
    """Normalised self van Hove functions of ``group`` at each van Hove lag, with their Gaussian reference."""
    data = displacements.groups[group]
    width = displacements.van_hove_bin_width_A
    out = []
    for k, lag in enumerate(displacements.van_hove_lags):
        counts = data.van_hove_counts[k].astype(float)
        r = (np.arange(len(counts)) + 0.5) * width
        radial = counts / (counts.sum() * width)
        msd = data.grid_msd_A2[int(np.nonzero(displacements.grid == lag)[0][0])]
        gaussian = 4.0 * np.pi * r**2 * (3.0 / (2.0 * np.pi * msd)) ** 1.5 * np.exp(-1.5 * r**2 / msd)
        out.append(VanHove(float(lag * displacements.frame_interval_ps), r, radial / (4.0 * np.pi * r**2),
                           radial, gaussian))
    return out
