"""A phase-change memory cycle read from its crystallinity per frame and per slab.

Given the crystalline fraction per frame and per slab along z (a
:class:`~simkit.analysis.crystallinity.CrystallinityResult`) and the time
window of each protocol stage, this module answers what a phase-change study
reports:

* the **amorphised region**: the slabs whose crystalline fraction is below
  ``level`` at the end of the RESET's cooling (read cold, where thermal noise
  no longer blurs the crystal), and its crystalline fraction in every frame;
* the **crystal/amorphous fronts**: the lower front (the crystalline template
  below the melt, searched upwards from the bottom of the cell) and the upper
  front (the unmelted crystal above it, searched downwards from the top), each
  with its growth velocity and uncertainty over the SET anneal (see
  :func:`simkit.analysis.interface.growth_velocity`);
* the **agreement of two criteria** frame by frame, e.g. the on-the-fly
  bond-order count LAMMPS recorded during the run and the post-processed SOAP
  similarity: both fractions and the share of atoms they classify alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from simkit.analysis.crystallinity import CrystallinityResult
from simkit.analysis.interface import Direction, growth_velocity, interface_positions
from simkit.errors import InputDataError


@dataclass(frozen=True)
class Window:
    """A protocol stage's time span (ps)."""

    begin_ps: float
    end_ps: float

    def frames(self, times_ps: np.ndarray) -> np.ndarray:
        """Indices of the frames inside the window (ends included, to a 1e-6 ps tolerance)."""
        return np.flatnonzero((times_ps >= self.begin_ps - 1e-6) & (times_ps <= self.end_ps + 1e-6))


def _frame_at(times_ps: np.ndarray, time_ps: float) -> int:
    return int(np.argmin(np.abs(np.asarray(times_ps) - time_ps)))


def amorphised_slabs(result: CrystallinityResult, at_ps: float, level: float = 0.5) -> np.ndarray:
    """Boolean mask (S,) of slabs whose crystalline fraction is below ``level`` in the frame nearest ``at_ps``."""
    profile = result.fraction_by_region[_frame_at(result.times_ps, at_ps)]
    return np.nan_to_num(profile, nan=1.0) < level


def region_fraction(result: CrystallinityResult, slabs: np.ndarray) -> np.ndarray:
    """Crystalline fraction of the masked slabs in every frame (their mean; NaN with no slab)."""
    if not np.any(slabs):
        return np.full(len(result.times_ps), np.nan)
    with np.errstate(invalid="ignore"):
        return np.nanmean(result.fraction_by_region[:, slabs], axis=1)


@dataclass
class Front:
    """One crystal/amorphous front: its height per frame and its SET growth velocity."""

    name: str
    direction: str
    positions_A: np.ndarray
    velocity: dict | None  # GrowthVelocity.to_dict(), None when too few frames had a front
    note: str = ""

    def to_dict(self) -> dict:
        finite = self.positions_A[np.isfinite(self.positions_A)]
        return {"name": self.name, "direction": self.direction, "frames_with_front": int(len(finite)),
                "velocity": self.velocity, "note": self.note}


def track_fronts(result: CrystallinityResult, slab_z_A: np.ndarray, box_height_A: float, growth: Window,
                 level: float = 0.5) -> list[Front]:
    """The lower front (grows up from the template) and the upper front (grows down), with SET velocities.

    A growing front moves into the amorphous region: the lower one upwards (+),
    the upper one downwards, reported as a positive speed too (its velocity
    along z times -1), so both read "m/s of crystal growth".
    """
    fronts = []
    for name, direction, start, sign in (("lower", Direction.UP, 0.0, 1.0),
                                         ("upper", Direction.DOWN, box_height_A, -1.0)):
        track = interface_positions(result.fraction_by_region, slab_z_A, level=level, start_z_A=start,
                                    direction=direction)
        window = growth.frames(result.times_ps)
        velocity, note = None, ""
        try:
            fit = growth_velocity(result.times_ps[window], sign * track.positions_A[window])
            velocity = fit.to_dict()
        except InputDataError as exc:
            note = str(exc)
        fronts.append(Front(name, direction.value, track.positions_A, velocity, note))
    return fronts


@dataclass
class Agreement:
    """Two per-atom criteria compared frame by frame."""

    times_ps: np.ndarray
    fraction_a: np.ndarray
    fraction_b: np.ndarray
    same_class: np.ndarray  # share of atoms both criteria classify alike
    labels: tuple[str, str] = ("a", "b")
    frames_compared: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        gap = np.abs(self.fraction_a - self.fraction_b)
        return {
            "criteria": list(self.labels), "frames": int(len(self.times_ps)),
            "mean_same_class": float(np.mean(self.same_class)), "min_same_class": float(np.min(self.same_class)),
            "mean_abs_fraction_difference": float(np.mean(gap)), "max_abs_fraction_difference": float(np.max(gap)),
            "max_difference_at_ps": float(self.times_ps[int(np.argmax(gap))]),
        }


def compare_criteria(times_ps: np.ndarray, flags_a: Sequence[np.ndarray], flags_b: Sequence[np.ndarray],
                     labels: tuple[str, str] = ("a", "b")) -> Agreement:
    """Per frame: each criterion's crystalline fraction and the share of atoms classified alike."""
    if len(flags_a) != len(flags_b) or len(flags_a) != len(times_ps):
        raise InputDataError(f"criteria comparison: {len(flags_a)} and {len(flags_b)} frames of flags for "
                             f"{len(times_ps)} times")
    if len(times_ps) == 0:
        raise InputDataError("criteria comparison: no frames")
    fa, fb, same = [], [], []
    for k, (a, b) in enumerate(zip(flags_a, flags_b)):
        a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
        if a.shape != b.shape:
            raise InputDataError(f"criteria comparison: frame {k} has {a.size} and {b.size} atoms")
        fa.append(a.mean())
        fb.append(b.mean())
        same.append(np.mean(a == b))
    return Agreement(np.asarray(times_ps, dtype=float), np.array(fa), np.array(fb), np.array(same), labels)
