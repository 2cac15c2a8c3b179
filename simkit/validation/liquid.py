"""Liquid (or amorphous) structure: density, g(r), bond angles and coordination from NPT MD.

The relaxed crystal is repeated, melted at ``melt_temperature_K`` (a crystal
heated only to the target may superheat and never melt in picoseconds), then
held at ``temperature_K`` and ``pressure_bar`` (Nose-Hoover NPT, isotropic) for
``equilibrate_ps`` and sampled over ``production_ps``. Density is the mean over
the samples with its standard error from blocks; g(r), bond-angle distribution
and coordination come from simkit's own analyses of the sampled frames, with
the bond cutoff given (the same for potential and reference, so their angle
distributions and coordinations compare).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from ase import Atoms

from simkit.analysis.angles import angles_of_frames
from simkit.analysis.frames import frames_from_atoms
from simkit.analysis.options import AngleOptions, RdfOptions
from simkit.analysis.rdf import rdf_of_frames
from simkit.errors import InputDataError
from simkit.lammps.dynamics import add_npt, create_velocities, remove_fix, run_steps, set_timestep
from simkit.units import mass_density_g_per_cm3
from simkit.validation.config import LiquidSpec
from simkit.validation.engine import Engine

_NPT = "simkit_liquid_npt"
BLOCKS = 5  # density standard error from this many block averages


def liquid(engine: Engine, relaxed_unit: Atoms, spec: LiquidSpec, seed: int) -> tuple[dict, dict]:
    """(quantities, curves) of the liquid; quantity names start with ``liquid_``."""
    session = engine.session
    atoms = relaxed_unit.repeat(spec.repeat)
    engine.load(atoms, "liquid cell")
    set_timestep(session, spec.timestep_fs)
    create_velocities(session, spec.melt_temperature_K or spec.temperature_K, seed)
    per_ps = round(1.0 / (spec.timestep_fs * 1e-3))
    if spec.melt_temperature_K is not None and spec.melt_ps > 0:
        _npt(session, spec.melt_temperature_K, spec.melt_temperature_K, spec, round(spec.melt_ps * per_ps))
    _npt(session, spec.melt_temperature_K or spec.temperature_K, spec.temperature_K, spec,
         round(spec.equilibrate_ps * per_ps))
    frames: list[Atoms] = []
    every = max(1, round(spec.sample_every_ps * per_ps))
    steps = max(every, round(spec.production_ps * per_ps))
    _npt(session, spec.temperature_K, spec.temperature_K, spec, steps, every=every,
         on_chunk=lambda _: frames.append(session.to_atoms()))
    return _measure(frames, spec)


def _npt(session, start_K: float, stop_K: float, spec: LiquidSpec, steps: int, *, every: int | None = None,
         on_chunk=None) -> None:
    """NPT for ``steps`` (none when 0), ``on_chunk`` called every ``every`` steps."""
    if steps <= 0:
        return
    add_npt(session, _NPT, start_K, stop_K, 100 * spec.timestep_fs, spec.pressure_bar, 1000 * spec.timestep_fs)
    run_steps(session, steps, chunk=every or steps, on_chunk=on_chunk)
    remove_fix(session, _NPT)


def _measure(frames: list[Atoms], spec: LiquidSpec) -> tuple[dict, dict]:
    mass = float(frames[0].get_masses().sum())
    densities = np.array([mass_density_g_per_cm3(mass, a.get_volume()) for a in frames])
    blocks = [b.mean() for b in np.array_split(densities, min(BLOCKS, len(densities)))]
    numbers = sorted(set(frames[0].numbers.tolist()))
    rdf = rdf_of_frames(frames_from_atoms(frames), numbers, RdfOptions(r_max_A=spec.rdf_r_max_A,
                                                                        bin_width_A=spec.rdf_bin_width_A))
    angles = angles_of_frames(frames_from_atoms(frames), numbers, AngleOptions(cutoff_A=spec.bond_cutoff_A))
    total = "total" if "total" in rdf.g else next(iter(rdf.g))  # one species: its one pair is the total
    r, g = rdf.r_A, rdf.g[total]
    peak = int(np.argmax(np.where(r < spec.bond_cutoff_A, g, -np.inf)))
    coordination = float(np.interp(spec.bond_cutoff_A, r, rdf.coordination[total]))
    adf = angles.distributions["all"] if "all" in angles.distributions else next(iter(angles.distributions.values()))
    quantities = {
        "liquid_density_g_per_cm3": float(densities.mean()),
        "liquid_density_stderr_g_per_cm3": float(np.std(blocks, ddof=1) / math.sqrt(len(blocks)))
        if len(blocks) > 1 else None,
        "liquid_rdf_first_peak_A": float(r[peak]),
        "liquid_rdf_first_peak_height": float(g[peak]),
        "liquid_coordination": coordination,
        "liquid_mean_bond_angle_deg": float(np.sum(angles.angles_deg * adf) / np.sum(adf)) if adf.sum() else None,
        "liquid_samples": len(frames),
    }
    curves = {"r_A": r.tolist(), "g_total": g.tolist(),
              "angle_deg": angles.angles_deg.tolist(), "adf_per_deg": adf.tolist(),
              "bond_cutoff_A": spec.bond_cutoff_A, "temperature_K": spec.temperature_K}
    return quantities, curves


def curve_difference(ours: dict, reference: dict) -> dict:
    """Integrated absolute differences of g(r) (per Å) and of the angle distribution (a fraction), over the
    range both cover; only for the curves ``reference`` has."""
    found = {}
    if "g_total" in reference:
        r = np.asarray(ours["r_A"])
        r = r[(r >= reference["r_A"][0]) & (r <= reference["r_A"][-1])]
        g_ours = np.interp(r, ours["r_A"], ours["g_total"])
        g_ref = np.interp(r, reference["r_A"], reference["g_total"])
        found["liquid_rdf_abs_difference_A"] = float(np.sum(np.abs(g_ours - g_ref) * np.gradient(r)))
    if "adf_per_deg" in reference:
        angles = np.asarray(ours["angle_deg"])
        angles = angles[(angles >= reference["angle_deg"][0]) & (angles <= reference["angle_deg"][-1])]
        p_ours = np.interp(angles, ours["angle_deg"], ours["adf_per_deg"])
        p_ref = np.interp(angles, reference["angle_deg"], reference["adf_per_deg"])
        found["liquid_adf_abs_difference"] = float(0.5 * np.sum(np.abs(p_ours - p_ref) * np.gradient(angles)))
    return found


def read_curve(path: Path, x_name: str, y_name: str, what: str) -> np.ndarray:
    """Two columns of a CSV file with a header naming them; (n, 2), x increasing."""
    try:
        table = np.genfromtxt(path, delimiter=",", names=True, dtype=float, encoding="utf-8")
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        raise InputDataError(f"{path}: cannot read the {what} curve: {exc}") from exc
    names = table.dtype.names or ()
    if x_name not in names or y_name not in names:
        raise InputDataError(f"{path}: the {what} curve needs columns {x_name} and {y_name}, found {list(names)}")
    curve = np.column_stack([np.atleast_1d(table[x_name]), np.atleast_1d(table[y_name])])
    if len(curve) < 2 or not np.isfinite(curve).all() or np.any(np.diff(curve[:, 0]) <= 0):
        raise InputDataError(f"{path}: the {what} curve needs at least two finite rows with {x_name} increasing")
    return curve


def given_curves(rdf_file: Path | None, adf_file: Path | None) -> dict:
    """Reference curves from files, in the layout :func:`curve_difference` compares."""
    curves: dict = {}
    if rdf_file is not None:
        rdf = read_curve(rdf_file, "r_A", "g", "g(r)")
        curves.update(r_A=rdf[:, 0].tolist(), g_total=rdf[:, 1].tolist())
    if adf_file is not None:
        adf = read_curve(adf_file, "angle_deg", "P_per_deg", "bond-angle")
        curves.update(angle_deg=adf[:, 0].tolist(), adf_per_deg=adf[:, 1].tolist())
    return curves
