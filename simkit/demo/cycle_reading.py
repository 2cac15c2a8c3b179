"""The demo's reading of a RESET/SET cycle: amorphised region, crystal fronts, criteria agreement, snapshots.

Built on the post-processed crystallinity (SOAP against the starting crystal,
per frame and per slab along z) and on the per-atom crystalline flags LAMMPS
computed on the fly during the run (the bond-order count recorded in the
trajectory). Writes into ``<analysis>/cycle/``:

* ``cycle_reading.json``: the numbers the report quotes (the amorphised
  slabs and their crystalline fraction after the RESET's cooling, through the
  cooling and over the SET; the fronts' growth velocities with uncertainties;
  the frame-by-frame agreement of the two criteria);
* ``cycle_reading.csv``: per frame: time, stage, both criteria's fractions, the
  share of atoms they classify alike, the amorphised region's fraction and
  both fronts' heights (units in the headers);
* ``cycle_reading.png`` and ``snapshots/`` (atoms coloured by crystallinity).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from simkit.analysis.crystallinity import CrystallinityResult
from simkit.analysis.interface import slab_centres_A
from simkit.analysis.output import new_figure, save_figure, write_csv
from simkit.analysis.pcm_cycle import Window, amorphised_slabs, compare_criteria, region_fraction, track_fronts
from simkit.analysis.snapshots import render_frames
from simkit.demo.config import CycleReading
from simkit.errors import InputDataError
from simkit.io.h5md_reader import H5mdTrajectory

ON_THE_FLY = "crystalline"  # per-atom array simkit md records with 'record: [crystalline]'


def _stage_of(times_ps: np.ndarray, windows: dict[str, tuple[float, float]]) -> list[str]:
    """The stage each frame belongs to (a frame on a boundary goes to the stage it ends)."""
    names = []
    for t in times_ps:
        inside = [name for name, (begin, end) in windows.items() if begin - 1e-6 <= t <= end + 1e-6]
        names.append(inside[0] if inside else "")
    return names


def _frame_index_by_step(traj: H5mdTrajectory) -> dict[int, int]:
    return {int(traj.frame(k, velocities=False, forces=False, per_atom=()).step): k for k in range(len(traj))}


def _on_the_fly_flags(trajectory: Path, steps: np.ndarray, index_of: dict[int, int]) -> list[np.ndarray] | None:
    with H5mdTrajectory(trajectory) as traj:
        if ON_THE_FLY not in traj.per_atom_names:
            return None
        missing = [int(s) for s in steps if int(s) not in index_of]
        if missing:
            raise InputDataError(f"{trajectory}: no frame at step(s) {missing[:3]} of the crystallinity analysis")
        return [traj.frame(index_of[int(s)], velocities=False, forces=False, per_atom=(ON_THE_FLY,))
                .per_atom[ON_THE_FLY] > 0.5 for s in steps]


def _window(windows: dict[str, tuple[float, float]], name: str, source: Path) -> Window:
    if name not in windows:
        raise InputDataError(f"{source}: the cycle has no finished stage named {name!r}")
    return Window(*windows[name])


def _stats(values: np.ndarray, frames: np.ndarray) -> dict:
    chosen = values[frames]
    chosen = chosen[np.isfinite(chosen)]
    if len(chosen) == 0:
        return {"frames": 0}
    return {"frames": int(len(chosen)), "first": float(chosen[0]), "last": float(chosen[-1]),
            "min": float(chosen.min()), "max": float(chosen.max())}


def read_cycle(trajectory: Path, result: CrystallinityResult, flags: list[np.ndarray],
               windows: dict[str, tuple[float, float]], reading: CycleReading, folder: Path,
               run_summary: Path) -> dict:
    """Write the cycle reading into ``folder`` and return its numbers (see module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    times = np.asarray(result.times_ps, dtype=float)
    amorphised_window = _window(windows, reading.amorphised_after, run_summary)
    growth = _window(windows, reading.growth_during, run_summary)
    slabs = amorphised_slabs(result, amorphised_window.end_ps, reading.level)
    region = region_fraction(result, slabs)
    with H5mdTrajectory(trajectory) as traj:
        cell = traj.frame(0, velocities=False, forces=False, per_atom=()).cell_A
        index_of = _frame_index_by_step(traj)  # read every frame's header once, for flags and snapshots
    slab_z = slab_centres_A(cell, result.fraction_by_region.shape[1])
    height = float(np.linalg.norm(cell[2]))
    fronts = track_fronts(result, slab_z, height, growth, reading.level)
    cooling = amorphised_window.frames(times)
    growing = growth.frames(times)
    numbers = {
        "criterion": {"post_processed": result.method, "parameters": result.parameters},
        "level": reading.level,
        "amorphised_slabs": {"read_after": reading.amorphised_after, "slabs": np.flatnonzero(slabs).tolist(),
                             "of": int(len(slabs)), "z_centres_A": slab_z[slabs].round(2).tolist()},
        "amorphised_region_fraction": {"during_" + reading.amorphised_after: _stats(region, cooling),
                                       "during_" + reading.growth_during: _stats(region, growing)},
        "growth": {"stage": reading.growth_during, "window_ps": [growth.begin_ps, growth.end_ps],
                   "fronts": [f.to_dict() for f in fronts]},
    }
    if len(growing):
        rise = _stats(region, growing)
        if rise.get("frames"):
            numbers["growth"]["amorphised_region_rise"] = rise["last"] - rise["first"]
            numbers["growth"]["duration_ps"] = float(times[growing][-1] - times[growing][0])
    columns = {"time_ps": times, "step": result.steps, "post_processed_fraction": result.fraction,
               "amorphised_region_fraction": region}
    on_the_fly = _on_the_fly_flags(trajectory, result.steps, index_of)
    if on_the_fly is not None:
        agreement = compare_criteria(times, on_the_fly, flags, labels=("on_the_fly", result.method))
        numbers["agreement"] = agreement.to_dict()
        columns.update(on_the_fly_fraction=agreement.fraction_a, same_class_share=agreement.same_class)
    for front in fronts:
        columns[f"{front.name}_front_z_A"] = front.positions_A
    write_csv(folder / "cycle_reading.csv", columns)
    (folder / "cycle_reading.json").write_text(json.dumps(numbers, indent=2, allow_nan=False, default=float) + "\n")
    _figure(times, result, region, fronts, windows, on_the_fly is not None and columns, folder / "cycle_reading.png")
    numbers["snapshots"] = _snapshots(trajectory, index_of, result, flags, windows, reading, fronts,
                                      folder / "snapshots")
    return numbers


def _figure(times, result, region, fronts, windows, columns, path: Path) -> Path:
    figure = new_figure(7.0, 6.0)
    top, bottom = figure.subplots(2, 1, sharex=True)
    top.plot(times, result.fraction, "k-", lw=1.2, label=f"whole cell ({result.method})")
    top.plot(times, region, "tab:red", lw=1.5, label="amorphised region")
    if columns:
        top.plot(times, columns["on_the_fly_fraction"], "tab:blue", lw=1, ls="--", label="whole cell (on the fly)")
    top.set_ylim(-0.02, 1.02)
    top.set_ylabel("crystalline fraction")
    top.legend(fontsize="small")
    for front in fronts:
        bottom.plot(times, front.positions_A / 10.0, "o-", ms=2, label=f"{front.name} front")
    bottom.set_xlabel("time (ps)")
    bottom.set_ylabel("front height z (nm)")
    bottom.legend(fontsize="small")
    timed = {name: span for name, span in windows.items() if span[1] > span[0]}  # not e.g. 'velocity'
    for axis in (top, bottom):
        for k, (begin, end) in enumerate(timed.values()):
            if k % 2 == 0:
                axis.axvspan(begin, end, color="0.92", zorder=0)
    for name, (begin, end) in timed.items():
        top.text(0.5 * (begin + end), 1.0, name, ha="center", va="bottom", fontsize="x-small", rotation=90)
    return save_figure(figure, path)


def _snapshots(trajectory, index_of, result, flags, windows, reading, fronts, folder: Path) -> dict:
    times = np.asarray(result.times_ps)
    chosen, labels = [], []
    for name in reading.snapshots_after:
        if name in windows:
            chosen.append(int(np.argmin(np.abs(times - windows[name][1]))))
            labels.append(f"after {name}")
    if not chosen:
        return {}
    lines = [{f"{f.name} front": float(f.positions_A[k]) for f in fronts if np.isfinite(f.positions_A[k])}
             for k in chosen]
    frame_indices = [index_of[int(result.steps[k])] for k in chosen]
    rendered = render_frames(trajectory, frame_indices, [flags[k] for k in chosen], folder, labels=labels,
                             lines_z_A=lines, stem="cycle")
    return {"strip": str(rendered.strip_path), "frames": [str(s.path) for s in rendered.snapshots],
            "labels": labels}
