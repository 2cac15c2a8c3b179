"""Diffusion coefficients with uncertainties, and ionic conductivity.

Tracer (self) diffusion: MSD(t) = 6 D t + c fitted over the diffusive window
(3D; the intercept c absorbs the ballistic and vibrational offset). The fit
is least squares over the grid lags in the window, each lag weighted by the
time it stands for (half the gaps to its neighbours), so a window of mixed
log- and evenly-spaced lags is fitted as if uniformly sampled in time.

**Uncertainty of D: bootstrap over particles.** The slope is linear in the
MSD, so D = mean_i D_i with D_i the same fit applied to particle i's own MSD
(each over every time origin). Resampling particles with replacement
(``bootstrap_samples`` times) and taking the standard deviation of the
resampled means gives the uncertainty. Each particle's whole MSD curve is
kept together, so the strong correlation between MSD points at different
lags is accounted for; the assumption is that different particles move
independently (collective hops would make the error bar too small).

Collective diffusion of a species, D_coll = <|sum_i dr_i|^2> / (6 N t), and
the charge current <|sum_i q_i dr_i|^2> come from one trajectory of a single
collective coordinate, so their uncertainty is large: the run is cut into
(at most) ``time_blocks`` contiguous blocks, each fitted over the window
(clipped to ``max_lag_fraction`` of the block); the estimate is the blocks'
mean and its uncertainty their standard error, std / sqrt(blocks), which
follows Student's t with blocks - 1 degrees of freedom.

Conductivity: Nernst-Einstein sigma = e^2 / (V k_B T H) * sum_s N_s z_s^2 D_s
(``H``: Haven ratio), and the collective (charge) conductivity
sigma = e^2 / (6 V k_B T) * d<|sum_i z_i dr_i|^2>/dt. Units: D in Å^2/ps and
cm^2/s, sigma in S/cm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simkit.analysis.msd import msd_fft
from simkit.diffusion.undefined import finite_or_reason
from simkit.units import BOLTZMANN_J_PER_K, CM2_PER_S_PER_A2_PER_PS, CM_PER_A, ELEMENTARY_CHARGE_C

_BOOTSTRAP_CHUNK = 100
DIMENSIONS = 3


def time_weights(lag_ps: np.ndarray) -> np.ndarray:
    """Each lag's share of the time axis: half the gaps to its neighbours (ends: half their one gap)."""
    t = np.asarray(lag_ps, dtype=float)
    if len(t) < 2:
        return np.ones(len(t))
    gaps = np.diff(t)
    return 0.5 * (np.concatenate([[gaps[0]], gaps]) + np.concatenate([gaps, [gaps[-1]]]))


def slope_coefficients(lag_ps: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Coefficients c of the weighted least-squares slope of y = a + b t: b = c @ y."""
    t = np.asarray(lag_ps, dtype=float)
    if len(t) < 2:
        raise ValueError("a slope needs at least two lags")
    w = np.ones(len(t)) if weights is None else np.asarray(weights, dtype=float)
    centred = t - np.sum(w * t) / np.sum(w)
    return w * centred / np.sum(w * centred**2)


def intercept_of(lag_ps: np.ndarray, values: np.ndarray, slope: float, weights: np.ndarray) -> float:
    return float(np.sum(weights * (values - slope * lag_ps)) / np.sum(weights))


@dataclass(frozen=True)
class DiffusionEstimate:
    """A diffusion coefficient (Å^2/ps) with its one-standard-deviation uncertainty and how it was obtained."""

    D_A2_per_ps: float
    D_err_A2_per_ps: float
    method: str
    intercept_A2: float = float("nan")
    ci95_A2_per_ps: tuple[float, float] = (float("nan"), float("nan"))
    details: dict = field(default_factory=dict)

    @property
    def D_cm2_per_s(self) -> float:
        return self.D_A2_per_ps * CM2_PER_S_PER_A2_PER_PS

    @property
    def D_err_cm2_per_s(self) -> float:
        return self.D_err_A2_per_ps * CM2_PER_S_PER_A2_PER_PS

    def describe(self) -> dict:
        """JSON-ready, in the convention of :mod:`simkit.diffusion.undefined`: an error that could not be
        estimated is null with its reason; an interval or intercept the method does not give is left out."""
        data = {"D_A2_per_ps": self.D_A2_per_ps, "D_cm2_per_s": self.D_cm2_per_s}
        no_error = self.details.get("note") or "no uncertainty could be estimated"
        finite_or_reason(data, "D_err_A2_per_ps", self.D_err_A2_per_ps, no_error)
        finite_or_reason(data, "D_err_cm2_per_s", self.D_err_cm2_per_s, no_error)
        if all(np.isfinite(self.ci95_A2_per_ps)):
            data["ci95_A2_per_ps"] = list(self.ci95_A2_per_ps)
        if np.isfinite(self.intercept_A2):
            data["intercept_A2"] = self.intercept_A2
        data["method"] = self.method
        for key, value in self.details.items():
            if isinstance(value, float):
                finite_or_reason(data, key, value, no_error)
            else:
                data[key] = value
        return data


def tracer_diffusion(grid_ps: np.ndarray, particle_msd_A2: np.ndarray, window_mask: np.ndarray,
                     rng: np.random.Generator, samples: int = 1000) -> DiffusionEstimate:
    """Self-diffusion from per-particle MSDs (particles, grid lags) over the window; bootstrap over particles."""
    t = np.asarray(grid_ps, dtype=float)[window_mask]
    msd = np.asarray(particle_msd_A2, dtype=float)[:, window_mask]
    weights = time_weights(t)
    coefficients = slope_coefficients(t, weights)
    per_particle = msd @ coefficients / (2 * DIMENSIONS)
    n = len(per_particle)
    D = float(per_particle.mean())
    resampled = []
    for start in range(0, samples, _BOOTSTRAP_CHUNK):
        size = min(_BOOTSTRAP_CHUNK, samples - start)
        resampled.append(per_particle[rng.integers(0, n, size=(size, n))].mean(axis=1))
    resampled = np.concatenate(resampled)
    details = {"particles": n, "fit_lags": int(len(t))}
    if n > 1:
        error = float(resampled.std(ddof=1))
        interval = (float(np.percentile(resampled, 2.5)), float(np.percentile(resampled, 97.5)))
        details["standard_error_A2_per_ps"] = float(per_particle.std(ddof=1) / np.sqrt(n))
    else:
        # Resampling one particle always gives the same mean: a zero spread that would claim an exact D.
        error, interval = float("nan"), (float("nan"), float("nan"))
        details["note"] = "one particle: a bootstrap over particles needs at least two"
    return DiffusionEstimate(
        D_A2_per_ps=D,
        D_err_A2_per_ps=error,
        method=f"bootstrap over particles ({samples} resamples of {n} particles)",
        intercept_A2=intercept_of(t, msd.mean(axis=0), 2 * DIMENSIONS * D, weights),
        ci95_A2_per_ps=interval,
        details=details,
    )


@dataclass(frozen=True)
class CollectiveSlope:
    """d<|X(t) - X(0)|^2>/dt of a collective coordinate X (units of X squared per ps) with a time-block error."""

    slope: float
    slope_err: float
    block_slopes: tuple[float, ...]
    msd: np.ndarray  # every lag of the whole run
    note: str = ""


def collective_slope(coordinate: np.ndarray, frame_interval_ps: float, window_start_ps: float,
                     window_stop_ps: float, blocks: int, max_lag_fraction: float) -> CollectiveSlope:
    """Slope of the MSD of a collective coordinate ``coordinate[T, 3]`` (every origin, FFT) over the window.

    The run is cut into contiguous blocks, each fitted over the window clipped to
    ``max_lag_fraction`` of the block; the slope is their mean and its error their standard
    error (std / sqrt(blocks)), so estimate and error describe the same lags. ``blocks`` is an
    upper limit: fewer are used when the window does not fit into shorter blocks; with fewer
    than two, the whole run is fitted and no error is given.
    """
    x = np.asarray(coordinate, dtype=float)[:, None, :]
    msd = msd_fft(x)
    for count in range(blocks, 1, -1):
        length = len(x) // count
        stop = min(window_stop_ps, max_lag_fraction * (length - 1) * frame_interval_ps)
        values = np.array([_window_slope(msd_fft(x[b * length:(b + 1) * length]), frame_interval_ps,
                                         window_start_ps, stop) for b in range(count)])
        if np.all(np.isfinite(values)):
            note = "" if count == blocks else f"{count} time blocks (longer ones to hold the window)"
            return CollectiveSlope(float(values.mean()), float(values.std(ddof=1) / np.sqrt(count)),
                                   tuple(float(v) for v in values), msd, note)
    note = (f"the window {window_start_ps:g}-{window_stop_ps:g} ps does not fit into two time blocks: "
            "slope from the whole run, no uncertainty")
    slope = _window_slope(msd, frame_interval_ps, window_start_ps, window_stop_ps)
    return CollectiveSlope(slope, float("nan"), (), msd, note)


def _window_slope(msd: np.ndarray, dt: float, start_ps: float, stop_ps: float) -> float:
    t = np.arange(len(msd)) * dt
    inside = (t >= start_ps - 1e-9 * dt) & (t <= stop_ps + 1e-9 * dt) & (t > 0)
    if inside.sum() < 3:
        return float("nan")
    return float(slope_coefficients(t[inside]) @ msd[inside])


def conductivity_prefactor_S_per_cm(volume_A3: float, temperature_K: float) -> float:
    """e^2 / (V k_B T) in S/cm per (e^2 cm^2/s): multiply by sum N z^2 D (D in cm^2/s)."""
    volume_cm3 = volume_A3 * CM_PER_A**3
    return ELEMENTARY_CHARGE_C**2 / (volume_cm3 * BOLTZMANN_J_PER_K * temperature_K)


@dataclass(frozen=True)
class Conductivity:
    """An ionic conductivity in S/cm with its one-standard-deviation uncertainty."""

    sigma_S_per_cm: float
    sigma_err_S_per_cm: float
    method: str
    details: dict = field(default_factory=dict)

    def describe(self) -> dict:
        data = {"sigma_S_per_cm": self.sigma_S_per_cm}
        finite_or_reason(data, "sigma_err_S_per_cm", self.sigma_err_S_per_cm,
                         self.details.get("note") or "no uncertainty could be estimated")
        return {**data, "method": self.method, **self.details}


def nernst_einstein(tracers: dict[str, DiffusionEstimate], atoms: dict[str, int], charges_e: dict[str, float],
                    volume_A3: float, temperature_K: float, haven_ratio: float = 1.0) -> Conductivity:
    """sigma = e^2 / (V k_B T H) sum_s N_s z_s^2 D_s over the species in ``tracers`` (errors added in quadrature)."""
    prefactor = conductivity_prefactor_S_per_cm(volume_A3, temperature_K) / haven_ratio
    terms = {s: atoms[s] * charges_e[s] ** 2 * est.D_cm2_per_s for s, est in tracers.items()}
    errors = [atoms[s] * charges_e[s] ** 2 * est.D_err_cm2_per_s for s, est in tracers.items()]
    return Conductivity(
        sigma_S_per_cm=prefactor * sum(terms.values()),
        sigma_err_S_per_cm=prefactor * float(np.sqrt(np.sum(np.square(errors)))),
        method=f"Nernst-Einstein from tracer D, Haven ratio {haven_ratio:g}",
        details={"contributions_S_per_cm": {s: prefactor * v for s, v in terms.items()},
                 "haven_ratio_assumed": haven_ratio},
    )


def charge_conductivity(slope: CollectiveSlope, volume_A3: float, temperature_K: float) -> Conductivity:
    """sigma = e^2 / (6 V k_B T) d<|sum_i z_i dr_i|^2>/dt from the charge coordinate's slope (e^2 Å^2/ps)."""
    factor = conductivity_prefactor_S_per_cm(volume_A3, temperature_K) * CM2_PER_S_PER_A2_PER_PS / (2 * DIMENSIONS)
    return Conductivity(
        sigma_S_per_cm=factor * slope.slope,
        sigma_err_S_per_cm=factor * slope.slope_err,
        method=f"charge current (collective, one trajectory: {len(slope.block_slopes)} time blocks)",
        details={"block_sigma_S_per_cm": [factor * s for s in slope.block_slopes], **({"note": slope.note}
                                                                                       if slope.note else {})},
    )
