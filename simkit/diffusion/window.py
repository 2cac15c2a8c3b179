"""The diffusive window: where MSD(t) is linear in t and displacements are Gaussian.

Rule (its parameters are in :class:`simkit.diffusion.settings.AnalysisSettings`):

1. On the lag grid, the local slope beta(t) = d ln MSD / d ln t is the
   least-squares slope of ln MSD against ln t over the grid lags within a
   factor ``slope_span`` around t (t / sqrt(span) .. t * sqrt(span)), and at
   least the neighbouring grid lags, which smooths the noise of nearby lags.
2. A lag is diffusive when |beta - 1| <= ``slope_tolerance`` and
   |alpha_2| <= ``alpha2_tolerance``, and it is at most ``max_lag_fraction``
   of the run (longer lags have too few independent origins).
3. The window is the longest run of consecutive diffusive grid lags, measured
   in log time (ln(stop/start)), that has at least ``min_window_points``
   lags and spans at least a factor ``min_window_ratio``; ties go to the later run.
4. Without such a run the trajectory is declared **not diffusive**; D is then
   fitted over the last quarter of the allowed lags, reported with
   ``diffusive: false`` and the reason, and left out of Arrhenius fits by default.

The chosen window, the rule and the reason are recorded with every result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from simkit.diffusion.settings import AnalysisSettings
from simkit.diffusion.undefined import finite_or_reason, put

_FALLBACK_FRACTION = 0.25


def local_slope(lag_ps: np.ndarray, msd: np.ndarray, span: float) -> np.ndarray:
    """d ln MSD / d ln t at each lag from a least-squares line over lags within a factor ``span``."""
    t = np.asarray(lag_ps, dtype=float)
    y = np.asarray(msd, dtype=float)
    slopes = np.full(len(t), np.nan)
    valid = (t > 0) & (y > 0) & np.isfinite(y)
    log_t = np.log(np.where(valid, t, 1.0))
    log_y = np.log(np.where(valid, y, 1.0))
    half = 0.5 * np.log(span)
    index = np.arange(len(t))
    for j in np.nonzero(valid)[0]:
        # Where lags are sparser than the span (the first few frames), the neighbours on each side count too.
        near = valid & ((np.abs(log_t - log_t[j]) <= half + 1e-12) | (np.abs(index - j) == 1))
        if near.sum() < 2:
            continue
        x = log_t[near] - log_t[near].mean()
        slopes[j] = float(np.dot(x, log_y[near] - log_y[near].mean()) / np.dot(x, x))
    return slopes


@dataclass(frozen=True)
class DiffusiveWindow:
    """The lags used to fit D, and why."""

    start_ps: float
    stop_ps: float
    points: int
    diffusive: bool
    reason: str
    slope_range: tuple[float, float]  # min, max of the local slope inside the window
    max_abs_alpha2: float  # inside the window
    rule: dict

    def mask(self, lag_ps: np.ndarray) -> np.ndarray:
        t = np.asarray(lag_ps, dtype=float)
        tolerance = 1e-9 * max(self.stop_ps, 1e-12)
        return (t >= self.start_ps - tolerance) & (t <= self.stop_ps + tolerance)

    def describe(self) -> dict:
        data = asdict(self)
        slopes_finite = all(np.isfinite(self.slope_range))
        put(data, "slope_range", list(self.slope_range),
            None if slopes_finite else "the local slope is undefined in the window (MSD not positive)")
        finite_or_reason(data, "max_abs_alpha2", self.max_abs_alpha2,
                         "alpha2 is undefined in the window (MSD zero)")
        return data


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of consecutive True values."""
    runs, start = [], None
    for i, flag in enumerate(flags):
        if flag and start is None:
            start = i
        if not flag and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(flags) - 1))
    return runs


def _rule(settings: AnalysisSettings) -> dict:
    keys = ("slope_tolerance", "alpha2_tolerance", "slope_span", "min_window_points", "min_window_ratio",
            "max_lag_fraction")
    return {key: getattr(settings, key) for key in keys}


def choose_window(lag_ps: np.ndarray, msd: np.ndarray, alpha2: np.ndarray, settings: AnalysisSettings,
                  max_lag_ps: float) -> DiffusiveWindow:
    """Apply the rule of the module docstring to grid lags ``lag_ps`` with their MSD and alpha_2."""
    t = np.asarray(lag_ps, dtype=float)
    beta = local_slope(t, msd, settings.slope_span)
    a2 = np.asarray(alpha2, dtype=float)
    allowed = (t > 0) & (t <= max_lag_ps * (1 + 1e-9))
    good_slope = np.abs(beta - 1.0) <= settings.slope_tolerance
    good_alpha = np.abs(a2) <= settings.alpha2_tolerance
    diffusive = allowed & good_slope & good_alpha & np.isfinite(beta) & np.isfinite(a2)
    best = None
    for first, last in _runs(diffusive):
        points = last - first + 1
        if points < settings.min_window_points or t[last] / t[first] < settings.min_window_ratio:
            continue
        span = np.log(t[last] / t[first])
        if best is None or span >= best[0]:
            best = (span, first, last)
    if best is not None:
        _, first, last = best
        reason = (f"longest run of grid lags with |slope - 1| <= {settings.slope_tolerance:g} and "
                  f"|alpha2| <= {settings.alpha2_tolerance:g}")
        return _window(t, beta, a2, first, last, True, reason, settings)
    candidates = np.nonzero(allowed)[0]
    if len(candidates) == 0:
        raise ValueError("no grid lag is within the allowed range")
    stop = t[candidates[-1]]
    inside = candidates[t[candidates] >= _FALLBACK_FRACTION * stop]
    if len(inside) < 2:
        inside = candidates[-2:] if len(candidates) >= 2 else candidates
    closest = _closest(beta, a2, allowed)
    reason = (f"not diffusive: no {settings.min_window_points} consecutive grid lags spanning a factor "
              f"{settings.min_window_ratio:g} with |slope - 1| <= {settings.slope_tolerance:g} and "
              f"|alpha2| <= {settings.alpha2_tolerance:g} ({closest}); D fitted over the last "
              f"{_FALLBACK_FRACTION:g} of the lags is not a long-time diffusion coefficient")
    return _window(t, beta, a2, int(inside[0]), int(inside[-1]), False, reason, settings)


def _closest(beta: np.ndarray, a2: np.ndarray, allowed: np.ndarray) -> str:
    finite = allowed & np.isfinite(beta) & np.isfinite(a2)
    if not finite.any():
        return "slope and alpha2 undefined"
    i = int(np.argmin(np.where(finite, np.abs(beta - 1.0), np.inf)))
    k = int(np.argmin(np.where(finite, np.abs(a2), np.inf)))
    return f"slope closest to 1: {beta[i]:.3g}; smallest |alpha2|: {abs(a2[k]):.3g}"


def _window(t, beta, a2, first: int, last: int, diffusive: bool, reason: str,
            settings: AnalysisSettings) -> DiffusiveWindow:
    inside = slice(first, last + 1)
    slopes = beta[inside][np.isfinite(beta[inside])]
    alphas = np.abs(a2[inside][np.isfinite(a2[inside])])
    return DiffusiveWindow(
        start_ps=float(t[first]), stop_ps=float(t[last]), points=last - first + 1, diffusive=diffusive,
        reason=reason,
        slope_range=(float(slopes.min()), float(slopes.max())) if len(slopes) else (float("nan"), float("nan")),
        max_abs_alpha2=float(alphas.max()) if len(alphas) else float("nan"),
        rule=_rule(settings),
    )
