"""Diffusion analysis of one trajectory (one temperature) and of a set of temperatures (Arrhenius).

:func:`analyse_trajectory` reads a production trajectory once
(:func:`~simkit.diffusion.displacements.displacement_pass`), chooses each
mobile species' diffusive window (:mod:`~simkit.diffusion.window`), fits
tracer D with a bootstrap over particles, collective and charge diffusion
with time blocks, and the Nernst-Einstein conductivity
(:mod:`~simkit.diffusion.estimate`). :func:`summarise_temperatures` fits
Arrhenius laws to D(T) per species and to sigma(T) (:mod:`~simkit.diffusion.arrhenius`).

Undefined quantities: the collective D, the charge-current conductivity and the
Haven ratios are not always defined (one species in the system, no charges, a
collective coordinate at rest, a ratio over a denominator consistent with zero;
an Arrhenius fit needs two temperatures with D above zero). The summaries
(``describe()``) then hold ``null`` and, beside it, ``<key>_undefined`` with the
reason; an Arrhenius fit that cannot be made is left out of its mapping and
named in ``<mapping>_undefined``; an absent key was not asked for; NaN is never
written. The rules and the convention are in :mod:`simkit.diffusion.undefined`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
from ase.data import atomic_numbers

from simkit.diffusion.arrhenius import ArrheniusFit, fit_arrhenius
from simkit.diffusion.displacements import Displacements, PositionSource, displacement_pass, lag_grid
from simkit.diffusion.estimate import (
    DIMENSIONS,
    CollectiveSlope,
    Conductivity,
    DiffusionEstimate,
    charge_conductivity,
    collective_slope,
    nernst_einstein,
    tracer_diffusion,
)
from simkit.diffusion.settings import AnalysisSettings
from simkit.diffusion.undefined import SIGNIFICANCE_SIGMA, charge_reason, collective_reason, put, ratio_reason
from simkit.diffusion.window import DiffusiveWindow, choose_window, local_slope
from simkit.errors import ConfigError, InputDataError

log = logging.getLogger(__name__)

_MIN_FRAMES = 10
_DEFAULT_VAN_HOVE_LAGS = 4
_DEFAULT_VAN_HOVE_RANGE = 100.0  # shortest default lag = longest / this


@dataclass
class SpeciesResult:
    """Diffusion of one mobile species at one temperature."""

    name: str
    atoms: int
    window: DiffusiveWindow
    tracer: DiffusionEstimate
    local_slope: np.ndarray  # on the grid
    collective: DiffusionEstimate | None = None  # None: not asked for, or undefined (then the reason is set)
    collective_msd_A2: np.ndarray | None = None  # <|sum dr|^2> / N at every lag
    collective_undefined: str | None = None

    def haven_ratio(self) -> tuple[float, float, str | None]:
        """D_tracer / D_collective with its propagated error, or NaN and why it is undefined."""
        if self.collective is None:
            return math.nan, math.nan, self.collective_undefined or "no collective D"
        c, t = self.collective, self.tracer
        reason = ratio_reason("the collective D", c.D_A2_per_ps, c.D_err_A2_per_ps, "Å²/ps")
        if reason:
            return math.nan, math.nan, reason
        ratio = t.D_A2_per_ps / c.D_A2_per_ps
        error = math.hypot(t.D_err_A2_per_ps / c.D_A2_per_ps, ratio * c.D_err_A2_per_ps / c.D_A2_per_ps)
        return ratio, error, None

    def describe(self) -> dict:
        data = {"atoms": self.atoms, "window": self.window.describe(), "tracer": self.tracer.describe()}
        if self.collective is None and self.collective_undefined is None:
            return data  # collective diffusion was not asked for
        put(data, "collective", self.collective.describe() if self.collective else None, self.collective_undefined)
        ratio, error, reason = self.haven_ratio()
        put(data, "haven_ratio", ratio, reason)
        if reason is None:
            put(data, "haven_ratio_err", error, None if math.isfinite(error) else "the tracer D has no uncertainty")
        return data


@dataclass
class TemperatureResult:
    """Everything :func:`analyse_trajectory` found for one temperature."""

    temperature_K: float
    displacements: Displacements
    species: dict[str, SpeciesResult]
    nernst_einstein: Conductivity | None = None
    charge: Conductivity | None = None  # None: not asked for, or undefined (then the reason is set)
    charge_msd_e2A2: np.ndarray | None = None
    charge_undefined: str | None = None
    settings: dict = field(default_factory=dict)

    @property
    def diffusive(self) -> bool:
        return all(s.window.diffusive for s in self.species.values())

    def describe(self) -> dict:
        d = self.displacements
        data = {
            "temperature_K": self.temperature_K,
            "trajectory": d.source,
            "frames": d.frames,
            "frame_interval_ps": d.frame_interval_ps,
            "duration_ps": d.duration_ps,
            "volume_A3": d.volume_A3,
            "diffusive": self.diffusive,
            "species": {name: s.describe() for name, s in self.species.items()},
            "settings": self.settings,
        }
        if self.nernst_einstein is not None:
            data["conductivity_nernst_einstein"] = self.nernst_einstein.describe()
        if self.charge is not None or self.charge_undefined is not None:
            put(data, "conductivity_charge_current", self.charge.describe() if self.charge else None,
                self.charge_undefined)
            ratio, reason = self.haven_ratio_measured()
            put(data, "haven_ratio_measured", ratio, reason)
        return data

    def haven_ratio_measured(self) -> tuple[float, str | None]:
        """sigma_NE(H = 1) / sigma_charge, or NaN and why it is undefined."""
        ne, charge = self.nernst_einstein, self.charge
        if charge is None:
            return math.nan, self.charge_undefined or "no charge-current conductivity"
        if ne is None:
            return math.nan, "no Nernst-Einstein conductivity"
        reason = ratio_reason("the charge-current conductivity", charge.sigma_S_per_cm, charge.sigma_err_S_per_cm,
                              "S/cm")
        if reason:
            return math.nan, reason
        return ne.sigma_S_per_cm * ne.details["haven_ratio_assumed"] / charge.sigma_S_per_cm, None


def _van_hove_lags(settings: AnalysisSettings, frames: int, dt: float, longest: int, source: str) -> np.ndarray:
    if settings.van_hove_lags_ps is None:
        lags = np.geomspace(max(1.0, longest / _DEFAULT_VAN_HOVE_RANGE), longest, _DEFAULT_VAN_HOVE_LAGS)
        return np.unique(np.round(lags).astype(np.int64))
    lags = np.round(np.asarray(settings.van_hove_lags_ps) / dt).astype(np.int64)
    bad = [t for t, lag in zip(settings.van_hove_lags_ps, lags) if not 1 <= lag <= frames - 1]
    if bad:
        raise ConfigError(
            f"analysis.van_hove_lags_ps: {bad} ps outside the trajectory {source} "
            f"(frames every {dt:g} ps, {(frames - 1) * dt:g} ps long)"
        )
    return np.unique(lags)


def species_masks(numbers: np.ndarray, species: list[str], source: str) -> dict[str, np.ndarray]:
    masks = {}
    for name in species:
        if name not in atomic_numbers:
            raise ConfigError(f"mobile species {name!r} is not an element")
        mask = np.asarray(numbers) == atomic_numbers[name]
        if not mask.any():
            raise InputDataError(f"{source}: no atoms of mobile species {name} in the trajectory")
        masks[name] = mask
    return masks


def analyse_trajectory(
    source: PositionSource,
    temperature_K: float,
    mobile_species: list[str],
    settings: AnalysisSettings,
    *,
    rng: np.random.Generator,
    charges_e: dict[str, float] | None = None,
    haven_ratio: float = 1.0,
    system_species: Collection[str] | None = None,
    progress: bool = True,
) -> TemperatureResult:
    """Diffusion of each mobile species in ``source`` at ``temperature_K`` (see the module docstring).

    ``charges_e`` (species -> e) enables the Nernst-Einstein conductivity and, with
    ``settings.collective``, the charge-current conductivity over every charged species.
    ``system_species``: every species of the simulated system, which a trajectory may hold only
    some of (None: not known); with one, collective quantities are undefined
    (:mod:`simkit.diffusion.undefined`).
    """
    indices = np.nonzero(np.asarray(source.times_ps) >= np.asarray(source.times_ps)[0] + settings.start_ps)[0]
    indices = indices[::settings.stride]
    if len(indices) < _MIN_FRAMES:
        raise InputDataError(f"{source.path}: {len(indices)} frames after start_ps = {settings.start_ps:g} ps and "
                             f"stride {settings.stride}; a diffusion analysis needs at least {_MIN_FRAMES}")
    masks = species_masks(source.numbers, mobile_species, str(source.path))
    if charges_e is not None and not set(mobile_species) <= set(charges_e):
        raise ConfigError(f"charges_e {charges_e} lacks mobile species {sorted(set(mobile_species) - set(charges_e))}")
    frames = len(indices)
    longest = max(1, int(np.floor(settings.max_lag_fraction * (frames - 1))))
    dt_guess = float(np.asarray(source.times_ps)[indices[1]] - np.asarray(source.times_ps)[indices[0]])
    van_hove_lags = _van_hove_lags(settings, frames, dt_guess, longest, str(source.path))
    grid = lag_grid(frames, settings.max_lag_fraction, settings.lag_points_per_decade, settings.linear_lag_points,
                    extra=tuple(int(v) for v in van_hove_lags))
    charges, charged_species = None, []
    if charges_e is not None and settings.collective:
        per_atom = np.zeros(source.natoms)
        for name, q in charges_e.items():
            selected = np.asarray(source.numbers) == atomic_numbers.get(name, -1)
            per_atom[selected] = q
            if q != 0 and selected.any():
                charged_species.append(name)
        charges = per_atom if charged_species else None
    displacements = displacement_pass(
        source, indices, masks, grid=grid, van_hove_lags=van_hove_lags,
        van_hove_bin_width_A=settings.van_hove_bin_width_A, collective=settings.collective, charges_e=charges,
        memory_MiB=settings.memory_MiB, progress=progress,
    )
    d = displacements
    max_lag_ps = settings.max_lag_fraction * d.duration_ps
    results: dict[str, SpeciesResult] = {}
    for name in mobile_species:
        group = d.groups[name]
        window = choose_window(d.grid_ps, group.grid_msd_A2, group.alpha2, settings, max_lag_ps)
        if not window.diffusive:
            log.warning("%s at %g K, %s: %s", source.path, temperature_K, name, window.reason)
        tracer = tracer_diffusion(d.grid_ps, group.particle_msd_A2, window.mask(d.grid_ps), rng,
                                  settings.bootstrap_samples)
        result = SpeciesResult(name, group.atoms, window, tracer, local_slope(d.grid_ps, group.grid_msd_A2,
                                                                                settings.slope_span))
        if group.position_sum_A is not None:
            slope = collective_slope(group.position_sum_A, d.frame_interval_ps, window.start_ps, window.stop_ps,
                                     settings.time_blocks, settings.max_lag_fraction)
            collective = _collective_estimate(slope, group.atoms)
            result.collective_msd_A2 = slope.msd / group.atoms
            result.collective_undefined = collective_reason(
                name, system_species, collective.D_A2_per_ps, collective.D_err_A2_per_ps, tracer.D_A2_per_ps)
            result.collective = None if result.collective_undefined else collective
        results[name] = result
    outcome = TemperatureResult(temperature_K, displacements, results, settings=settings.model_dump(mode="json"))
    if charges_e is not None:
        outcome.nernst_einstein = nernst_einstein(
            {s: r.tracer for s, r in results.items()}, {s: r.atoms for s, r in results.items()}, charges_e,
            d.volume_A3, temperature_K, haven_ratio,
        )
        if d.charge_sum_eA is not None:
            # The charge current is fitted over the window of the species carrying most of the NE conductivity.
            main = max(results, key=lambda s: outcome.nernst_einstein.details["contributions_S_per_cm"][s])
            window = results[main].window
            slope = collective_slope(d.charge_sum_eA, d.frame_interval_ps, window.start_ps, window.stop_ps,
                                     settings.time_blocks, settings.max_lag_fraction)
            charge = charge_conductivity(slope, d.volume_A3, temperature_K)
            charge.details["window_of"] = main
            outcome.charge_msd_e2A2 = slope.msd
            ne = outcome.nernst_einstein
            outcome.charge_undefined = charge_reason(
                charged_species, system_species, charge.sigma_S_per_cm, charge.sigma_err_S_per_cm,
                ne.sigma_S_per_cm * ne.details["haven_ratio_assumed"])
            outcome.charge = None if outcome.charge_undefined else charge
        elif settings.collective:
            outcome.charge_undefined = charge_reason(charged_species, system_species)
    return outcome


def _collective_estimate(slope: CollectiveSlope, atoms: int) -> DiffusionEstimate:
    scale = 1.0 / (2 * DIMENSIONS * atoms)
    details = {"block_D_A2_per_ps": [v * scale for v in slope.block_slopes]}
    if slope.note:
        details["note"] = slope.note
    blocks = len(slope.block_slopes)
    return DiffusionEstimate(
        D_A2_per_ps=slope.slope * scale, D_err_A2_per_ps=slope.slope_err * scale,
        method=f"centre-of-species displacement, one trajectory: mean and std / sqrt(n) of {blocks} time blocks",
        details=details,
    )


@dataclass
class ArrheniusSummary:
    """Arrhenius fits over temperatures: D per species, and sigma*T when conductivities exist."""

    diffusion: dict[str, ArrheniusFit]
    conductivity: ArrheniusFit | None
    excluded: dict[str, list[float]]  # species (or "sigma") -> temperatures left out, with the reason in notes
    notes: list[str]
    undefined: dict[str, str] = field(default_factory=dict)  # species without a fit -> why
    conductivity_undefined: str | None = None  # set when conductivities exist but could not be fitted

    def describe(self) -> dict:
        data = {"diffusion": {s: f.describe() for s, f in self.diffusion.items()}}
        if self.undefined:
            data["diffusion_undefined"] = dict(self.undefined)
        if self.conductivity is not None or self.conductivity_undefined is not None:
            put(data, "conductivity_sigma_T", self.conductivity.describe() if self.conductivity else None,
                self.conductivity_undefined)
        data["excluded_temperatures_K"] = self.excluded
        data["notes"] = self.notes
        return data


def _unusable(value: float, error: float) -> str | None:
    """Why a value cannot enter an Arrhenius fit, whose logarithm it takes; None if it can."""
    if not (math.isfinite(value) and value > 0):
        return "not above zero (it has no logarithm)"
    if math.isfinite(error) and value <= SIGNIFICANCE_SIGMA * error:
        return f"not above zero by {SIGNIFICANCE_SIGMA:g} standard errors (its logarithm's interval is unbounded)"
    return None


def _usable(rows: list[TemperatureResult], values, errors, label: str, notes: list[str]) -> list[TemperatureResult]:
    """``rows`` whose value can be fitted; each reason for leaving one out becomes a note."""
    kept, reasons = [], {}
    for row, value, error in zip(rows, values, errors):
        reason = _unusable(value, error)
        if reason is None:
            kept.append(row)
        else:
            reasons.setdefault(reason, []).append(row.temperature_K)
    notes.extend(f"{label}: left out {', '.join(f'{t:g}' for t in temps)} K: {reason}" for reason, temps in
                 reasons.items())
    return kept


def _too_few(kept: list[TemperatureResult]) -> str:
    found = ", ".join(f"{r.temperature_K:g} K" for r in kept) or "none"
    return f"an Arrhenius fit needs at least two usable temperatures (usable: {found})"


def summarise_temperatures(results: list[TemperatureResult], include: str = "diffusive") -> ArrheniusSummary:
    """Arrhenius fits of D(T) per species and of sigma(T) * T (Nernst-Einstein), weighted by their errors.

    ``include="diffusive"`` leaves out temperatures whose window is not diffusive. A value not above
    zero by two standard errors is left out too (its logarithm is undefined), with a note; a fit
    needs two temperatures, else the species is named in ``undefined`` with the reason.
    """
    ordered = sorted(results, key=lambda r: r.temperature_K)
    species = list(ordered[0].species) if ordered else []
    fits, excluded, notes, undefined = {}, {}, [], {}
    for name in species:
        kept = [r for r in ordered if include == "all" or r.species[name].window.diffusive]
        left = [r.temperature_K for r in ordered if r not in kept]
        if left:
            notes.append(f"{name}: left out non-diffusive temperatures {left} K")
        kept = _usable(kept, [r.species[name].tracer.D_A2_per_ps for r in kept],
                       [r.species[name].tracer.D_err_A2_per_ps for r in kept], f"{name}: D", notes)
        excluded[name] = [r.temperature_K for r in ordered if r not in kept]
        if len(kept) < 2:
            undefined[name] = _too_few(kept)
            notes.append(f"{name}: no Arrhenius fit: {undefined[name]}")
            continue
        fits[name] = fit_arrhenius(
            [r.temperature_K for r in kept],
            [r.species[name].tracer.D_cm2_per_s for r in kept],
            [r.species[name].tracer.D_err_cm2_per_s for r in kept], quantity=f"D_{name} (cm^2/s)",
        )
    conductivity, conductivity_undefined = None, None
    with_sigma = [r for r in ordered if r.nernst_einstein is not None and (include == "all" or r.diffusive)]
    with_sigma = _usable(with_sigma, [r.nernst_einstein.sigma_S_per_cm for r in with_sigma],
                         [r.nernst_einstein.sigma_err_S_per_cm for r in with_sigma], "sigma", notes)
    excluded["sigma"] = [r.temperature_K for r in ordered if r not in with_sigma]
    if len(with_sigma) >= 2:
        conductivity = fit_arrhenius(
            [r.temperature_K for r in with_sigma],
            [r.nernst_einstein.sigma_S_per_cm * r.temperature_K for r in with_sigma],
            [r.nernst_einstein.sigma_err_S_per_cm * r.temperature_K for r in with_sigma],
            quantity="sigma*T (S K/cm)",
        )
    elif any(r.nernst_einstein is not None for r in ordered):
        conductivity_undefined = _too_few(with_sigma)
        notes.append(f"sigma: no Arrhenius fit: {conductivity_undefined}")
    return ArrheniusSummary(fits, conductivity, excluded, notes, undefined, conductivity_undefined)
