"""Files of a diffusion analysis: per temperature and for the whole run. Units are in every column name.

Per temperature (``<T dir>/analysis/``): ``diffusion.json`` (windows, D, errors,
conductivities, settings), ``msd.csv`` (every lag), ``grid.csv`` (MSD,
alpha_2, local slope and window flag on the lag grid), ``van_hove.csv``,
``displacements.h5`` (the same arrays with ``units`` attributes), ``msd.png``,
``alpha2.png``, ``van_hove.png``.

Per run (``<output_dir>/analysis/``): ``diffusion.csv`` (one row per
temperature and species), ``conductivity.csv``, ``arrhenius.json``,
``summary.md`` (the table of D, sigma and Ea), ``arrhenius.png``, ``msd_all.png``.

Undefined quantities (:mod:`simkit.diffusion.undefined`): JSON holds ``null`` and
``<key>_undefined`` with the reason; the CSV tables hold NaN and the reason in a
``<quantity>_undefined`` column; ``summary.md`` writes "undefined" and lists the reasons.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np

from simkit.analysis.output import write_csv, write_hdf5
from simkit.diffusion import plots
from simkit.diffusion.analysis import ArrheniusSummary, TemperatureResult
from simkit.diffusion.displacements import van_hove

log = logging.getLogger(__name__)

TEMPERATURE_JSON = "diffusion.json"
RUN_TABLE = "diffusion.csv"
CONDUCTIVITY_TABLE = "conductivity.csv"
ARRHENIUS_JSON = "arrhenius.json"
SUMMARY_MD = "summary.md"


def _json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=_plain) + "\n")
    return path


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def write_temperature(result: TemperatureResult, out: Path) -> dict[str, Path]:
    """Tables, HDF5, JSON and figures of one temperature into ``out``."""
    out = Path(out)
    d = result.displacements
    columns = {"lag_ps": d.lag_ps}
    for name in result.species:
        columns[f"msd_{name}_A2"] = d.groups[name].msd_A2
        if result.species[name].collective_msd_A2 is not None:
            columns[f"collective_msd_per_atom_{name}_A2"] = result.species[name].collective_msd_A2
    if result.charge_msd_e2A2 is not None:
        columns["charge_msd_e2A2"] = result.charge_msd_e2A2
    grid = {"lag_ps": d.grid_ps}
    datasets = {"lag": (d.lag_ps, "ps"), "grid_lag": (d.grid_ps, "ps")}
    van_hove_columns: dict[str, np.ndarray] = {}
    for name, species in result.species.items():
        group = d.groups[name]
        grid[f"msd_{name}_A2"] = group.grid_msd_A2
        grid[f"alpha2_{name}"] = group.alpha2
        grid[f"local_slope_{name}"] = species.local_slope
        grid[f"in_window_{name}"] = species.window.mask(d.grid_ps).astype(int)
        datasets.update({
            f"{name}/msd": (group.msd_A2, "Angstrom2"), f"{name}/grid_msd": (group.grid_msd_A2, "Angstrom2"),
            f"{name}/grid_quartic": (group.grid_quartic_A4, "Angstrom4"), f"{name}/alpha2": (group.alpha2, "1"),
            f"{name}/local_slope": (species.local_slope, "1"),
            f"{name}/particle_msd": (group.particle_msd_A2, "Angstrom2"),
        })
        for curve in van_hove(d, name):
            label = f"{name}_{curve.lag_ps:.6g}ps"
            van_hove_columns[f"r_{label}_A"] = curve.r_A
            van_hove_columns[f"radial_{label}_per_A"] = curve.radial_per_A
            van_hove_columns[f"gaussian_{label}_per_A"] = curve.gaussian_per_A
            datasets[f"{name}/van_hove/{curve.lag_ps:.6g}ps/r"] = (curve.r_A, "Angstrom")
            datasets[f"{name}/van_hove/{curve.lag_ps:.6g}ps/G_s"] = (curve.g_s_per_A3, "Angstrom-3")
    outputs = {
        "diffusion_json": _json(out / TEMPERATURE_JSON, result.describe()),
        "msd_csv": write_csv(out / "msd.csv", columns),
        "grid_csv": write_csv(out / "grid.csv", grid),
        "displacements_h5": write_hdf5(out / "displacements.h5", datasets,
                                       {"temperature_K": result.temperature_K, "source": d.source}),
    }
    if van_hove_columns:
        outputs["van_hove_csv"] = write_csv(out / "van_hove.csv", _pad(van_hove_columns))
    outputs.update(_figures(out, [
        ("msd_png", "msd.png", lambda p: plots.plot_msd(result, p)),
        ("alpha2_png", "alpha2.png", lambda p: plots.plot_alpha2(result, p)),
        ("van_hove_png", "van_hove.png", lambda p: plots.plot_van_hove(result, p)),
    ]))
    return outputs


def _pad(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Columns of different lengths padded with NaN (van Hove histograms end where displacements end)."""
    length = max(len(v) for v in columns.values())
    return {k: np.concatenate([np.asarray(v, dtype=float), np.full(length - len(v), np.nan)])
            for k, v in columns.items()}


def _figures(out: Path, figures) -> dict[str, Path]:
    # Figures are a convenience: failing to draw one must not lose the numbers already written.
    written = {}
    for key, name, draw in figures:
        try:
            written[key] = draw(out / name)
        except Exception as exc:  # noqa: BLE001 - matplotlib raises many types
            log.warning("could not draw %s: %s", out / name, exc)
    return written


def diffusion_rows(results: list[TemperatureResult]) -> dict[str, list]:
    """One row per temperature and species: D (tracer, collective) in cm^2/s and Å^2/ps, window, flags."""
    rows: dict[str, list] = {key: [] for key in (
        "temperature_K", "species", "atoms", "D_cm2_per_s", "D_err_cm2_per_s", "D_A2_per_ps", "D_err_A2_per_ps",
        "window_start_ps", "window_stop_ps", "diffusive", "max_abs_alpha2_in_window", "D_collective_cm2_per_s",
        "D_collective_err_cm2_per_s", "D_collective_undefined", "haven_ratio", "haven_ratio_err",
        "haven_ratio_undefined")}
    for result in sorted(results, key=lambda r: r.temperature_K):
        for name, s in result.species.items():
            collective = s.collective
            asked = collective is not None or s.collective_undefined is not None
            rows["temperature_K"].append(result.temperature_K)
            rows["species"].append(name)
            rows["atoms"].append(s.atoms)
            rows["D_cm2_per_s"].append(s.tracer.D_cm2_per_s)
            rows["D_err_cm2_per_s"].append(s.tracer.D_err_cm2_per_s)
            rows["D_A2_per_ps"].append(s.tracer.D_A2_per_ps)
            rows["D_err_A2_per_ps"].append(s.tracer.D_err_A2_per_ps)
            rows["window_start_ps"].append(s.window.start_ps)
            rows["window_stop_ps"].append(s.window.stop_ps)
            rows["diffusive"].append(int(s.window.diffusive))
            rows["max_abs_alpha2_in_window"].append(s.window.max_abs_alpha2)
            rows["D_collective_cm2_per_s"].append(collective.D_cm2_per_s if collective else math.nan)
            rows["D_collective_err_cm2_per_s"].append(collective.D_err_cm2_per_s if collective else math.nan)
            rows["D_collective_undefined"].append(s.collective_undefined or "")
            ratio, error, reason = s.haven_ratio() if asked else (math.nan, math.nan, None)
            rows["haven_ratio"].append(ratio)
            rows["haven_ratio_err"].append(error)
            rows["haven_ratio_undefined"].append(reason or "")
    return rows


def conductivity_rows(results: list[TemperatureResult]) -> dict[str, list]:
    rows: dict[str, list] = {key: [] for key in (
        "temperature_K", "volume_A3", "sigma_NE_S_per_cm", "sigma_NE_err_S_per_cm", "sigma_charge_S_per_cm",
        "sigma_charge_err_S_per_cm", "sigma_charge_undefined", "haven_ratio_measured",
        "haven_ratio_measured_undefined")}
    for result in sorted(results, key=lambda r: r.temperature_K):
        if result.nernst_einstein is None:
            continue
        rows["temperature_K"].append(result.temperature_K)
        rows["volume_A3"].append(result.displacements.volume_A3)
        rows["sigma_NE_S_per_cm"].append(result.nernst_einstein.sigma_S_per_cm)
        rows["sigma_NE_err_S_per_cm"].append(result.nernst_einstein.sigma_err_S_per_cm)
        charge = result.charge
        rows["sigma_charge_S_per_cm"].append(charge.sigma_S_per_cm if charge else math.nan)
        rows["sigma_charge_err_S_per_cm"].append(charge.sigma_err_S_per_cm if charge else math.nan)
        rows["sigma_charge_undefined"].append(result.charge_undefined or "")
        asked = charge is not None or result.charge_undefined is not None
        ratio, reason = result.haven_ratio_measured() if asked else (math.nan, None)
        rows["haven_ratio_measured"].append(ratio)
        rows["haven_ratio_measured_undefined"].append(reason or "")
    return rows


def _value(value: float, error: float, style: str = "") -> str:
    if not math.isfinite(value):
        return "n/a"
    if style:
        return f"{value:{style}} ± {error:{style}}" if math.isfinite(error) else f"{value:{style}}"
    return f"{value:.3e} ± {error:.1e}" if math.isfinite(error) else f"{value:.3e}"


def summary_markdown(results: list[TemperatureResult], summary: ArrheniusSummary) -> str:
    """The table of D, sigma and Ea as Markdown."""
    ordered = sorted(results, key=lambda r: r.temperature_K)
    species = list(ordered[0].species)
    has_sigma = any(r.nernst_einstein is not None for r in ordered)
    header = ["T (K)", *[f"D {s} (cm²/s)" for s in species], *[f"window {s} (ps)" for s in species]]
    if has_sigma:
        header += ["σ Nernst-Einstein (S/cm)", "σ charge current (S/cm)"]
    lines = ["# Diffusion summary", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    undefined = []
    for r in ordered:
        cells = [f"{r.temperature_K:g}"]
        cells += [_value(r.species[s].tracer.D_cm2_per_s, r.species[s].tracer.D_err_cm2_per_s) for s in species]
        cells += [f"{r.species[s].window.start_ps:.3g}-{r.species[s].window.stop_ps:.3g}"
                  + ("" if r.species[s].window.diffusive else " (not diffusive)") for s in species]
        if has_sigma:
            ne, charge = r.nernst_einstein, r.charge
            cells.append(_value(ne.sigma_S_per_cm, ne.sigma_err_S_per_cm) if ne else "n/a")
            if r.charge_undefined:
                cells.append("undefined")
                undefined.append(f"- {r.temperature_K:g} K, σ charge current undefined: {r.charge_undefined}")
            else:
                cells.append(_value(charge.sigma_S_per_cm, charge.sigma_err_S_per_cm) if charge else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Arrhenius fits", "", "| quantity | Ea (eV) | prefactor | temperatures (K) | chi²/dof |",
              "|---|---|---|---|---|"]
    fits = list(summary.diffusion.values()) + ([summary.conductivity] if summary.conductivity else [])
    for fit in fits:
        chi2 = f"{fit.chi2_per_dof:.3g}" if math.isfinite(fit.chi2_per_dof) else "undefined"
        lines.append(f"| {fit.quantity} | {_value(fit.activation_eV, fit.activation_err_eV, '.4f')} | "
                     f"{_value(fit.prefactor, fit.prefactor_err)} | "
                     f"{', '.join(f'{t:g}' for t in fit.temperatures_K)} | {chi2} |")
    if not fits:
        lines.append("| (none: fewer than two usable temperatures) | | | | |")
    lines += ["", "D: bootstrap over particles (1 sigma); σ: Nernst-Einstein from tracer D; charge current: "
              "one trajectory, time-block uncertainty; σ fitted as σT = A exp(-Ea/kT)."]
    lines += [f"- {note}" for note in summary.notes]
    if undefined:
        lines += ["", "Undefined quantities (the JSON files hold null and the reason):", *undefined]
    return "\n".join(lines) + "\n"


def write_run(results: list[TemperatureResult], summary: ArrheniusSummary, out: Path) -> dict[str, Path]:
    """Tables, Arrhenius JSON, Markdown summary and figures of every temperature into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    outputs = {"diffusion_csv": write_csv(out / RUN_TABLE, diffusion_rows(results))}
    conductivity = conductivity_rows(results)
    if conductivity["temperature_K"]:
        outputs["conductivity_csv"] = write_csv(out / CONDUCTIVITY_TABLE, conductivity)
    outputs["arrhenius_json"] = _json(out / ARRHENIUS_JSON, summary.describe())
    (out / SUMMARY_MD).write_text(summary_markdown(results, summary))
    outputs["summary_md"] = out / SUMMARY_MD
    outputs.update(_figures(out, [
        ("arrhenius_png", "arrhenius.png", lambda p: plots.plot_arrhenius(results, summary, p)),
        ("msd_all_png", "msd_all.png", lambda p: plots.plot_msd_all(results, p)),
    ]))
    return outputs
