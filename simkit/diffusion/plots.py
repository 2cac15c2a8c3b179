"""Figures of a diffusion analysis: MSD with its fit window, alpha_2(t), van Hove, Arrhenius.

matplotlib's object API on an Agg canvas (see :mod:`simkit.analysis.output`),
so figures are drawn headless and without global state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simkit.analysis.output import new_figure, save_figure
from simkit.diffusion.analysis import ArrheniusSummary, TemperatureResult
from simkit.diffusion.displacements import van_hove
from simkit.diffusion.estimate import DIMENSIONS


def _shade(axis, window, label: str | None = None) -> None:
    axis.axvspan(window.start_ps, window.stop_ps, color="tab:green" if window.diffusive else "tab:red",
                 alpha=0.12, label=label)


def plot_msd(result: TemperatureResult, path: Path) -> Path:
    """Per species: MSD(t) (log-log) with the fit window and the fitted line, and the local slope."""
    d = result.displacements
    figure = new_figure(10.0, 4.2)
    msd_axis, slope_axis = figure.subplots(1, 2)
    lag = d.lag_ps
    for k, (name, species) in enumerate(result.species.items()):
        colour = f"C{k}"
        group = d.groups[name]
        msd_axis.loglog(lag[1:], group.msd_A2[1:], color=colour, label=f"{name} ({species.atoms} atoms)")
        w = species.window
        t = np.linspace(w.start_ps, w.stop_ps, 50)
        fit = 2 * DIMENSIONS * species.tracer.D_A2_per_ps * t + species.tracer.intercept_A2
        error = species.tracer.D_err_cm2_per_s
        spread = f" ± {error:.2g}" if np.isfinite(error) else " (no uncertainty)"
        msd_axis.loglog(t, fit, "--", color="k", lw=1.0,
                        label=f"fit: D = {species.tracer.D_cm2_per_s:.3g}{spread} cm²/s")
        _shade(msd_axis, w, "fit window" if k == 0 else None)
        slope_axis.semilogx(d.grid_ps, species.local_slope, "o-", ms=2.5, color=colour, label=name)
        _shade(slope_axis, w)
    tolerance = result.settings.get("slope_tolerance", 0.1)
    slope_axis.axhspan(1 - tolerance, 1 + tolerance, color="0.85", zorder=0, label="accepted slope")
    slope_axis.axhline(1.0, color="0.4", lw=0.8)
    msd_axis.set_xlabel("lag time (ps)")
    msd_axis.set_ylabel("MSD (Å²)")
    msd_axis.set_title(f"{result.temperature_K:g} K: MSD over every time origin")
    msd_axis.legend(fontsize="small")
    slope_axis.set_xlabel("lag time (ps)")
    slope_axis.set_ylabel("d ln MSD / d ln t")
    slope_axis.set_ylim(0.0, 2.2)
    slope_axis.set_title("local slope (1 = diffusive, 2 = ballistic)")
    slope_axis.legend(fontsize="small")
    return save_figure(figure, path)


def plot_alpha2(result: TemperatureResult, path: Path) -> Path:
    """alpha_2(t) per species with the tolerance band and the fit window."""
    d = result.displacements
    figure = new_figure()
    axis = figure.add_subplot()
    for k, (name, species) in enumerate(result.species.items()):
        axis.semilogx(d.grid_ps, d.groups[name].alpha2, "o-", ms=2.5, color=f"C{k}", label=name)
        _shade(axis, species.window, "fit window" if k == 0 else None)
    tolerance = result.settings.get("alpha2_tolerance", 0.1)
    axis.axhspan(-tolerance, tolerance, color="0.85", zorder=0, label="accepted |alpha2|")
    axis.axhline(0.0, color="0.4", lw=0.8)
    axis.set_xlabel("lag time (ps)")
    axis.set_ylabel("alpha2 = 3<r⁴>/(5<r²>²) - 1")
    axis.set_title(f"{result.temperature_K:g} K: non-Gaussian parameter")
    axis.legend(fontsize="small")
    return save_figure(figure, path)


def plot_van_hove(result: TemperatureResult, path: Path) -> Path:
    """4 pi r^2 G_s(r, t) per species and lag, with the Gaussian of the same MSD (dashed)."""
    names = list(result.species)
    figure = new_figure(4.6 * len(names), 4.0)
    axes = np.atleast_1d(figure.subplots(1, len(names)))
    for axis, name in zip(axes, names):
        for k, curve in enumerate(van_hove(result.displacements, name)):
            axis.plot(curve.r_A, curve.radial_per_A, color=f"C{k}", label=f"{curve.lag_ps:.3g} ps")
            axis.plot(curve.r_A, curve.gaussian_per_A, "--", color=f"C{k}", lw=0.8)
        axis.set_xlabel("displacement r (Å)")
        axis.set_ylabel("4πr² G_s(r, t) (1/Å)")
        axis.set_title(f"{name}, {result.temperature_K:g} K (dashed: Gaussian)")
        axis.legend(fontsize="small")
    return save_figure(figure, path)


def plot_msd_all(results: list[TemperatureResult], path: Path) -> Path:
    """MSD(t) of every temperature, one panel per species."""
    ordered = sorted(results, key=lambda r: r.temperature_K)
    names = list(ordered[0].species)
    figure = new_figure(4.6 * len(names), 4.0)
    axes = np.atleast_1d(figure.subplots(1, len(names)))
    for axis, name in zip(axes, names):
        for k, result in enumerate(ordered):
            d = result.displacements
            axis.loglog(d.lag_ps[1:], d.groups[name].msd_A2[1:], color=f"C{k}", label=f"{result.temperature_K:g} K")
        axis.set_xlabel("lag time (ps)")
        axis.set_ylabel("MSD (Å²)")
        axis.set_title(name)
        axis.legend(fontsize="small")
    return save_figure(figure, path)


def plot_arrhenius(results: list[TemperatureResult], summary: ArrheniusSummary, path: Path) -> Path:
    """D(T) per species and sigma(T) against 1000/T with error bars and the fitted Arrhenius lines."""
    ordered = sorted(results, key=lambda r: r.temperature_K)
    has_sigma = any(r.nernst_einstein is not None for r in ordered)
    figure = new_figure(10.0 if has_sigma else 5.4, 4.2)
    axes = np.atleast_1d(figure.subplots(1, 2 if has_sigma else 1))
    inverse = np.array([1000.0 / r.temperature_K for r in ordered])
    fine_t = np.linspace(min(r.temperature_K for r in ordered), max(r.temperature_K for r in ordered), 100)
    axis = axes[0]
    for k, name in enumerate(ordered[0].species):
        values = np.array([r.species[name].tracer.D_cm2_per_s for r in ordered])
        errors = np.array([r.species[name].tracer.D_err_cm2_per_s for r in ordered])
        diffusive = np.array([r.species[name].window.diffusive for r in ordered])
        _points(axis, inverse, values, errors, diffusive, f"C{k}", name)
        fit = summary.diffusion.get(name)
        if fit is not None:
            axis.semilogy(1000.0 / fine_t, fit.predict(fine_t), "-", color=f"C{k}", lw=1.0,
                          label=f"{name}: Ea = {fit.activation_eV:.3f} ± {fit.activation_err_eV:.3f} eV")
    axis.set_xlabel("1000 / T (1/K)")
    axis.set_ylabel("D (cm²/s)")
    axis.set_title("tracer diffusion (open: not diffusive)")
    axis.legend(fontsize="small")
    if has_sigma:
        axis = axes[1]
        rows = [r for r in ordered if r.nernst_einstein is not None]
        x = np.array([1000.0 / r.temperature_K for r in rows])
        values = np.array([r.nernst_einstein.sigma_S_per_cm for r in rows])
        errors = np.array([r.nernst_einstein.sigma_err_S_per_cm for r in rows])
        _points(axis, x, values, errors, np.array([r.diffusive for r in rows]), "C0", "Nernst-Einstein")
        charge = [r for r in rows if r.charge is not None and r.charge.sigma_S_per_cm > 0]
        if charge:
            axis.errorbar([1000.0 / r.temperature_K for r in charge], [r.charge.sigma_S_per_cm for r in charge],
                          yerr=[r.charge.sigma_err_S_per_cm for r in charge], fmt="s", color="C3", ms=4,
                          capsize=3, label="charge current")
        fit = summary.conductivity
        if fit is not None:
            axis.semilogy(1000.0 / fine_t, fit.predict(fine_t) / fine_t, "-", color="C0", lw=1.0,
                          label=f"σT fit: Ea = {fit.activation_eV:.3f} ± {fit.activation_err_eV:.3f} eV")
        axis.set_yscale("log")
        axis.set_xlabel("1000 / T (1/K)")
        axis.set_ylabel("σ (S/cm)")
        axis.set_title("ionic conductivity")
        axis.legend(fontsize="small")
    return save_figure(figure, path)


def _points(axis, x, values, errors, diffusive, colour: str, label: str) -> None:
    positive = values > 0
    for mask, face, suffix in ((diffusive & positive, colour, ""), (~diffusive & positive, "none", " (not diffusive)")):
        if mask.any():
            axis.errorbar(x[mask], values[mask], yerr=errors[mask], fmt="o", color=colour, mfc=face, ms=5,
                          capsize=3, label=label + suffix)
    axis.set_yscale("log")

