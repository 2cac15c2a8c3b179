"""The crystal/amorphous interface along z and the speed at which it moves.

A phase-change device cell keeps a crystalline template at the bottom (the
frozen slab, small z); RESET amorphises the material above it and SET regrows
the crystal from that template. :func:`interface_positions` turns the
crystalline fraction per slab (``fraction_by_region`` of
:func:`simkit.analysis.crystallinity.crystallinity_of_frames`) into the height
of the template's crystal front in each frame; :func:`growth_velocity` fits a
line through those heights in a time window.

The front is defined from an anchor ``start_z_A`` inside crystal that is known
to persist (the top of the frozen slab): walking away from it (upward by
default) over the slabs whose centres lie in the searched range, the crystal
must start at the anchor and the front is the first crossing of the fraction
from ``>= level`` to ``< level``, interpolated linearly between the two slab
centres. Only the crystal connected to the template counts, so crystal
further up (across the amorphous region, or the template's periodic image)
never produces a front. Frames without one give NaN and a :class:`FrontStatus`
reason, counted by :meth:`InterfaceTrack.reason_counts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from simkit.errors import InputDataError
from simkit.units import M_PER_S_PER_A_PER_PS


class FrontStatus(str, Enum):
    """Why a frame has (``FOUND``) or has no interface position."""

    FOUND = "found"
    ALL_CRYSTALLINE = "all_crystalline"  # no slab below level in the searched range
    ALL_AMORPHOUS = "all_amorphous"  # no slab at or above level
    AMORPHOUS_AT_START = "amorphous_at_start"  # the slab next to the anchor is already below level
    TOO_FEW_SLABS = "too_few_slabs"  # fewer than two non-empty slabs in the searched range



class Direction(str, Enum):
    """Which way from the anchor the crystal front is searched (growth up or down)."""

    UP = "up"
    DOWN = "down"


@dataclass
class InterfaceTrack:
    """Interface height per frame (Å, NaN where none) and the status of each frame."""

    positions_A: np.ndarray  # (F,)
    status: list[FrontStatus]
    level: float
    direction: Direction

    def reason_counts(self) -> dict[str, int]:
        """How many frames ended in each status (``found`` included), e.g. ``{"found": 40, "all_crystalline": 3}``."""
        counts: dict[str, int] = {}
        for status in self.status:
            counts[status.value] = counts.get(status.value, 0) + 1
        return counts

    def to_dict(self) -> dict:
        return {"interface_z_A": [None if np.isnan(z) else float(z) for z in self.positions_A],
                "status": [s.value for s in self.status], "status_counts": self.reason_counts(),
                "level": self.level, "direction": self.direction.value}


def slab_centres_A(cell_A: np.ndarray, slabs: int, axis: int = 2) -> np.ndarray:
    """Heights (Å) of the centres of ``slabs`` equal slabs along cell vector ``axis``.

    Heights are measured perpendicular to the other two cell vectors (the
    z coordinate for the device's orthogonal box), matching
    :func:`simkit.analysis.profiles.slab_index`, which cuts slabs in fractional
    coordinates.
    """
    cell = np.asarray(cell_A, dtype=float)
    others = [cell[k] for k in range(3) if k != axis]
    height = abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(*others))
    return (np.arange(slabs) + 0.5) / slabs * height


def interface_positions(fraction_by_region: np.ndarray, slab_z_A: np.ndarray, *, level: float = 0.5,
                        start_z_A: float | None = None, z_min_A: float | None = None,
                        z_max_A: float | None = None, direction: Direction | str = Direction.UP) -> InterfaceTrack:
    """Height (Å) of the crystal front grown from the template, per frame (see module docstring).

    ``fraction_by_region`` is (F, S) crystalline fractions (NaN: an empty slab,
    skipped). ``slab_z_A`` gives the S slab centres, or S + 1 slab edges (their
    midpoints are used), in Å and increasing. Slabs are searched when their
    centre lies in [``z_min_A``, ``z_max_A``] and on the far side of
    ``start_z_A`` (above it for ``direction="up"``, below for ``"down"``);
    ``start_z_A`` defaults to the end of the range the search starts from.
    """
    fractions = np.atleast_2d(np.asarray(fraction_by_region, dtype=float))
    centres = _centres(np.asarray(slab_z_A, dtype=float), fractions.shape[1])
    direction = Direction(direction)
    selected = np.ones(len(centres), dtype=bool)
    if z_min_A is not None:
        selected &= centres >= z_min_A
    if z_max_A is not None:
        selected &= centres <= z_max_A
    if start_z_A is not None:
        selected &= centres >= start_z_A if direction is Direction.UP else centres <= start_z_A
    order = np.nonzero(selected)[0]
    if direction is Direction.DOWN:
        order = order[::-1]
    positions, status = [], []
    for profile in fractions:
        z, reason = _first_crossing(profile[order], centres[order], level)
        positions.append(z)
        status.append(reason)
    return InterfaceTrack(np.array(positions), status, level, direction)


def _centres(slab_z_A: np.ndarray, slabs: int) -> np.ndarray:
    if len(slab_z_A) == slabs + 1:
        slab_z_A = 0.5 * (slab_z_A[1:] + slab_z_A[:-1])
    if len(slab_z_A) != slabs:
        raise InputDataError(f"slab positions: {len(slab_z_A)} values for {slabs} slabs "
                             f"(expected {slabs} centres or {slabs + 1} edges)")
    if np.any(np.diff(slab_z_A) <= 0):
        raise InputDataError("slab positions must increase with the slab index")
    return slab_z_A


def _first_crossing(profile: np.ndarray, z_A: np.ndarray, level: float) -> tuple[float, FrontStatus]:
    """The first fall below ``level`` of a profile ordered away from the anchor."""
    present = ~np.isnan(profile)
    profile, z_A = profile[present], z_A[present]
    if len(profile) < 2:
        return np.nan, FrontStatus.TOO_FEW_SLABS
    crystalline = profile >= level
    if crystalline.all():
        return np.nan, FrontStatus.ALL_CRYSTALLINE
    if not crystalline.any():
        return np.nan, FrontStatus.ALL_AMORPHOUS
    if not crystalline[0]:
        return np.nan, FrontStatus.AMORPHOUS_AT_START
    k = int(np.argmin(crystalline))  # first amorphous slab; k >= 1 and slab k-1 is crystalline
    share = (profile[k - 1] - level) / (profile[k - 1] - profile[k])  # > 0 since profile[k] < level
    return float(z_A[k - 1] + share * (z_A[k] - z_A[k - 1])), FrontStatus.FOUND


@dataclass
class GrowthVelocity:
    """A straight-line fit of interface height against time; velocities in m/s (positive: +z)."""

    velocity_m_per_s: float
    velocity_stderr_m_per_s: float
    velocity_block_stderr_m_per_s: float
    block_velocities_m_per_s: np.ndarray
    points: int
    displacement_A: float
    r_squared: float
    intercept_A: float
    window_ps: tuple[float, float]

    def to_dict(self) -> dict:
        """JSON-ready, units in the key names."""
        return {
            "velocity_m_per_s": self.velocity_m_per_s,
            "velocity_stderr_m_per_s": self.velocity_stderr_m_per_s,
            "velocity_block_stderr_m_per_s": _json_float(self.velocity_block_stderr_m_per_s),
            "block_velocities_m_per_s": [_json_float(v) for v in self.block_velocities_m_per_s],
            "points": self.points, "displacement_A": self.displacement_A,
            "r_squared": _json_float(self.r_squared), "intercept_A": self.intercept_A,
            "window_ps": list(self.window_ps),
        }


def growth_velocity(times_ps: np.ndarray, positions_A: np.ndarray, *, window: tuple[float, float] | None = None,
                    blocks: int = 4) -> GrowthVelocity:
    """Least-squares velocity of the interface over ``window`` (t0, t1) in ps (default: all frames).

    NaN positions (frames without a front) are dropped; at least 3 finite
    points are needed. Returns the velocity in m/s (1 Å/ps = 100 m/s), its
    standard error from the fit residuals, the displacement of the fitted line
    between the first and last point used (Å) and R² (NaN if the heights do
    not vary).

    The fit's standard error assumes independent residuals. Successive frames
    of an MD run are correlated (the front fluctuates slowly), so it
    underestimates the uncertainty. As a second estimate the points are split
    into ``blocks`` contiguous runs in time (equal numbers of points), each is
    fitted, and std(ddof=1)/sqrt(n) of the block velocities is reported as
    ``velocity_block_stderr_m_per_s`` (NaN with fewer than two blocks of at
    least two points). That is the error of the *mean block velocity*: each
    block sees 1/blocks of the points over 1/blocks of the time, so for
    independent noise it is about ``blocks`` times the fit's standard error, a
    deliberately conservative figure; much more than that means correlated
    frames or a speed that changes within the window.
    """
    times, heights = np.asarray(times_ps, dtype=float), np.asarray(positions_A, dtype=float)
    if times.shape != heights.shape:
        raise InputDataError(f"growth velocity: {len(times)} times but {len(heights)} interface positions")
    keep = np.isfinite(heights) & np.isfinite(times)
    if window is not None:
        keep &= (times >= window[0]) & (times <= window[1])
    times, heights = times[keep], heights[keep]
    order = np.argsort(times, kind="stable")
    times, heights = times[order], heights[order]
    if len(times) < 3 or np.ptp(times) == 0:
        span = "all frames" if window is None else f"{window[0]:g}-{window[1]:g} ps"
        raise InputDataError(f"growth velocity: {len(times)} frames with an interface at distinct times in {span}; "
                             "a fit with an uncertainty needs at least 3 (widen the window or check the level)")
    slope, intercept, stderr, r_squared = _line_fit(times, heights)
    block_slopes = np.array([_line_fit(t, h)[0] for t, h in zip(np.array_split(times, blocks),
                                                                  np.array_split(heights, blocks))
                             if len(t) >= 2 and np.ptp(t) > 0])
    block_stderr = np.std(block_slopes, ddof=1) / np.sqrt(len(block_slopes)) if len(block_slopes) >= 2 else np.nan
    return GrowthVelocity(
        velocity_m_per_s=float(slope * M_PER_S_PER_A_PER_PS),
        velocity_stderr_m_per_s=float(stderr * M_PER_S_PER_A_PER_PS),
        velocity_block_stderr_m_per_s=float(block_stderr * M_PER_S_PER_A_PER_PS),
        block_velocities_m_per_s=block_slopes * M_PER_S_PER_A_PER_PS,
        points=len(times), displacement_A=float(slope * (times[-1] - times[0])), r_squared=r_squared,
        intercept_A=float(intercept),
        window_ps=(float(times[0]), float(times[-1])) if window is None else (float(window[0]), float(window[1])),
    )


def _line_fit(times: np.ndarray, heights: np.ndarray) -> tuple[float, float, float, float]:
    """(slope Å/ps, intercept Å, slope standard error Å/ps (NaN for 2 points), R²)."""
    t_mean, h_mean = times.mean(), heights.mean()
    sxx = np.sum((times - t_mean) ** 2)
    slope = np.sum((times - t_mean) * (heights - h_mean)) / sxx
    intercept = h_mean - slope * t_mean
    residual = np.sum((heights - intercept - slope * times) ** 2)
    total = np.sum((heights - h_mean) ** 2)
    dof = len(times) - 2
    stderr = np.sqrt(residual / dof / sxx) if dof > 0 else np.nan
    r_squared = 1.0 - residual / total if total > 0 else np.nan
    return float(slope), float(intercept), float(stderr), float(r_squared)


def _json_float(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)
