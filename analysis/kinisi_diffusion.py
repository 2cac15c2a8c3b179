#!/usr/bin/env python
"""Tracer D from kinisi (Bayesian regression of the MSD) for a simkit trajectory, beside simkit's own D.

    python analysis/kinisi_diffusion.py RUN [--species Cu] [--lags 50] [--diffusive-from-ps 2.0] [-o kinisi.json]

RUN is a run directory holding trajectory.h5md (e.g. a ``simkit diffusion`` temperature folder), or an
.h5md file. kinisi is optional: ``pip install kinisi`` (written against kinisi 2.1).

What kinisi is given, per species (kinisi's ``DiffusionAnalyzer.from_ase``):

* positions: the species' atoms only, **unwrapped** by simkit (stored positions plus image flags times
  the frame's cell), as ASE Atoms with ``pbc`` off so kinisi takes them as they are instead of wrapping
  them into the cell and unwrapping them again by minimum image. No drift correction (kinisi corrects
  against the atoms not selected, of which it is given none), as in simkit's estimator;
* time: ``step_skip`` = MD steps between frames and ``time_step`` = frame interval / step_skip, from the
  file's per-frame step and time datasets (frames must be equally spaced);
* the lag grid ``dt``: ``--lags`` evenly spaced multiples of the frame interval, from one frame to
  ``--max-lag-fraction`` of the run. kinisi's D depends on this grid: with a dense grid it drifts below
  a coarse grid's (measured in benchmarks/results/kinisi_comparison.md), so the JSON records it;
* ``start_dt``, the start of the diffusive regime: ``--diffusive-from-ps``, or by default the start of
  simkit's diffusive window for the species (the rule of simkit.diffusion.window on the same frames),
  whose D (bootstrap over particles) is then written beside kinisi's.

kinisi's D is the mean of its posterior samples, with their standard deviation and the 95 % credible
interval (2.5 and 97.5 percentiles). kinisi 2.1 counts a lag's independent samples as atoms x (last lag of
the grid) / lag, taking the grid's end for the run's, so with lags to half the run its interval is about
sqrt(2) wider than with its default grid to the end. Writes one JSON (``-o``) and prints one line per species.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import run_recipe, trajectory_of  # noqa: E402

from simkit.diffusion.analysis import analyse_trajectory  # noqa: E402
from simkit.diffusion.displacements import frame_interval  # noqa: E402
from simkit.diffusion.settings import AnalysisSettings  # noqa: E402
from simkit.errors import BackendSetupError, ConfigError, InputDataError  # noqa: E402
from simkit.io import open_trajectory  # noqa: E402
from simkit.units import CM2_PER_S_PER_A2_PER_PS  # noqa: E402

# kinisi turns dt into frame counts by truncation, (dt / (time_step * step_skip)).astype(int), so a lag of
# 3 frames of 0.01 ps (0.03 / 0.01 = 2.9999999999999996) would become 2. Each dt is raised by this much (ps),
# inside kinisi's 1e-9 tolerance for dt being a multiple of the frame interval, and the frame counts kinisi
# derived are checked afterwards.
_DT_NUDGE_PS = 1e-10
# Peak memory per (frame, atom) read: this recipe's arrays plus kinisi's parser and MSD. Measured 234 B above the
# interpreter's 200 MiB with 500 atoms x 4001 frames (benchmarks/kinisi_comparison.py), rounded up; it is used to
# refuse a trajectory before it is read.
_BYTES_PER_FRAME_ATOM = 300
_FIT_LAGS_MIN = 3


def _kinisi():
    """kinisi's analyser and scipp, imported here only: kinisi is an optional dependency of this recipe."""
    try:
        import kinisi
        import scipp
        from kinisi.analyze import DiffusionAnalyzer
    except ImportError as exc:
        raise BackendSetupError(f"kinisi is not installed ({exc}); install it with `pip install kinisi` "
                                "(this recipe is written against kinisi 2.1)") from exc
    return kinisi.__version__, scipp, DiffusionAnalyzer


def frame_selection(times_ps: np.ndarray, start_ps: float, stride: int, source: Path) -> np.ndarray:
    """Indices of the frames at or after ``start_ps`` past the first, every ``stride``-th."""
    times = np.asarray(times_ps, dtype=float)
    indices = np.nonzero(times >= times[0] + start_ps)[0][::stride]
    if len(indices) < 10:
        raise InputDataError(f"{source}: {len(indices)} frames after --start-ps {start_ps:g} with --stride {stride}; "
                             "a diffusion analysis needs at least 10")
    return indices


def lag_frames(frames: int, lags: int, max_lag_fraction: float) -> np.ndarray:
    """``lags`` evenly spaced lags (in frames, distinct, >= 1) up to ``max_lag_fraction`` of the run."""
    longest = max(1, int(math.floor(max_lag_fraction * (frames - 1))))
    return np.unique(np.round(np.linspace(1, longest, min(lags, longest))).astype(np.int64))


def check_steps_between_frames(unwrapped_A: np.ndarray, cells_A: np.ndarray, indices: np.ndarray,
                               source: Path) -> None:
    """Refuse a frame spacing in which an atom moves half a cell: kinisi would fold that move back."""
    fractional = np.einsum("fnk,fkj->fnj", unwrapped_A, np.linalg.inv(cells_A))
    jumps = np.abs(np.diff(fractional, axis=0)).max(axis=(1, 2))
    if len(jumps) and jumps.max() >= 0.5:
        where = int(np.argmax(jumps >= 0.5))
        raise InputDataError(
            f"{source}: frame {int(indices[where + 1])}: an atom moved {jumps[where]:.2f} of the cell since the "
            "previous frame; kinisi unwraps by minimum image and would fold it back (use a smaller --stride)")


def simkit_window(trajectory, species: str, args) -> dict:
    """simkit's diffusive window and D for ``species`` on the recipe's frames (bootstrap over particles)."""
    settings = AnalysisSettings(start_ps=args.start_ps, stride=args.stride, max_lag_fraction=args.max_lag_fraction,
                                collective=False, bootstrap_samples=args.bootstrap_samples)
    # The temperature only labels simkit's log lines here; nothing derived from it is used.
    result = analyse_trajectory(trajectory, math.nan, [species], settings, rng=np.random.default_rng(args.seed),
                                progress=False)
    outcome = result.species[species]
    return {
        "D_A2_per_ps": outcome.tracer.D_A2_per_ps, "D_err_A2_per_ps": outcome.tracer.D_err_A2_per_ps,
        "D_cm2_per_s": outcome.tracer.D_cm2_per_s, "D_err_cm2_per_s": outcome.tracer.D_err_cm2_per_s,
        "method": outcome.tracer.method, "dimension": "xyz",
        "window": {"start_ps": outcome.window.start_ps, "stop_ps": outcome.window.stop_ps,
                   "diffusive": outcome.window.diffusive, "reason": outcome.window.reason},
    }


def kinisi_D(frames: list[Atoms], species: str, lag_ps: np.ndarray, lags: np.ndarray, time_step_ps: float,
             step_skip: int, start_ps: float, args, scipp, DiffusionAnalyzer) -> dict:
    """kinisi's posterior of D for ``species`` over the lag grid, from ``start_ps`` on."""
    dt_ps = lag_ps + _DT_NUDGE_PS
    fitted = int(np.sum(dt_ps >= start_ps))  # kinisi fits the lags at or after start_dt
    if fitted < _FIT_LAGS_MIN:
        raise ConfigError(f"--lags {args.lags}: only {fitted} grid lag(s) at or after the diffusive start "
                          f"{start_ps:g} ps (the grid ends at {lag_ps[-1]:g} ps); use more lags or an earlier start")
    analyzer = DiffusionAnalyzer.from_ase(
        frames, specie=species, time_step=scipp.scalar(time_step_ps, unit="ps"),
        step_skip=scipp.scalar(step_skip, unit="dimensionless"),
        dt=scipp.array(dims=["time interval"], values=dt_ps, unit="ps"),
        dimension=args.dimension, progress=False,
    )
    used = np.asarray(analyzer.trajectory.dt_index.values)
    if not np.array_equal(used, lags):
        raise BackendSetupError(f"kinisi read the lag grid as {used[:5].tolist()}... frames instead of "
                                f"{lags[:5].tolist()}...: this recipe is written against kinisi 2.1")
    saved = np.random.get_state()
    try:
        analyzer.diffusion(scipp.scalar(start_ps, unit="ps"), n_samples=args.samples, n_walkers=args.walkers,
                           n_burn=args.burn, n_thin=args.thin, progress=False,
                           random_state=np.random.RandomState(args.seed))
    finally:
        # kinisi seeds numpy's global generator from random_state: give the caller theirs back.
        np.random.set_state(saved)
    samples = np.asarray(scipp.to_unit(analyzer.D, "cm^2/s").values) / CM2_PER_S_PER_A2_PER_PS  # Å^2/ps
    low, high = np.percentile(samples, [2.5, 97.5])
    return {
        "D_A2_per_ps": float(samples.mean()), "D_std_A2_per_ps": float(samples.std(ddof=1)),
        "D_median_A2_per_ps": float(np.median(samples)), "ci95_A2_per_ps": [float(low), float(high)],
        "D_cm2_per_s": float(samples.mean()) * CM2_PER_S_PER_A2_PER_PS,
        "D_std_cm2_per_s": float(samples.std(ddof=1)) * CM2_PER_S_PER_A2_PER_PS,
        "posterior_samples": int(samples.size), "fitted_lags": fitted, "dimension": args.dimension,
        "sampler": {"n_samples": args.samples, "n_walkers": args.walkers, "n_burn": args.burn, "n_thin": args.thin,
                    "seed": args.seed},
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="run directory or .h5md file")
    parser.add_argument("--species", nargs="+", help="species to analyse (default: every species in the file)")
    parser.add_argument("--lags", type=int, default=50, help="lags of kinisi's grid, evenly spaced (default 50)")
    parser.add_argument("--max-lag-fraction", type=float, default=0.5,
                        help="longest lag as a fraction of the run (default 0.5, as simkit's analysis)")
    parser.add_argument("--diffusive-from-ps", type=float,
                        help="start of the diffusive regime, ps of lag (default: simkit's window start)")
    parser.add_argument("--start-ps", type=float, default=0.0, help="ignore frames before this time (ps past the "
                        "first frame; default 0)")
    parser.add_argument("--stride", type=int, default=1, help="use every n-th frame (default 1)")
    parser.add_argument("--dimension", default="xyz", choices=("x", "y", "z", "xy", "xz", "yz", "xyz"),
                        help="directions of kinisi's MSD (default xyz; simkit's D is always 3D)")
    parser.add_argument("--samples", type=int, default=1000, help="kinisi's MCMC samples per walker (default 1000)")
    parser.add_argument("--walkers", type=int, default=32, help="kinisi's MCMC walkers (default 32)")
    parser.add_argument("--burn", type=int, default=500, help="kinisi's burn-in samples (default 500)")
    parser.add_argument("--thin", type=int, default=10, help="kinisi's thinning (default 10)")
    parser.add_argument("--bootstrap-samples", type=int, default=1000, help="simkit's bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="seed of kinisi's sampler and simkit's bootstrap")
    parser.add_argument("--memory-GiB", type=float, default=8.0, help="refuse inputs whose kinisi analysis "
                        "would need more memory than this (default 8)")
    parser.add_argument("-o", "--output", type=Path, default=Path("kinisi_diffusion.json"), help="JSON written")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.lags < _FIT_LAGS_MIN or args.stride < 1 or not 0 < args.max_lag_fraction <= 1:
        parser.error(f"need --lags >= {_FIT_LAGS_MIN}, --stride >= 1 and 0 < --max-lag-fraction <= 1")
    version, scipp, DiffusionAnalyzer = _kinisi()
    path = trajectory_of(args.run)
    with open_trajectory(path) as trajectory:
        trajectory.require_unwrapped("kinisi's MSD")
        indices = frame_selection(trajectory.times_ps, args.start_ps, args.stride, path)
        interval_ps = frame_interval(trajectory, indices)
        step_skip = int(trajectory.steps[indices[1]] - trajectory.steps[indices[0]])
        lags = lag_frames(len(indices), args.lags, args.max_lag_fraction)
        lag_ps = lags * interval_ps
        present = [chemical_symbols[z] for z in sorted(set(trajectory.numbers.tolist()))]
        wanted = args.species or present
        missing = sorted(set(wanted) - set(present))
        if missing:
            raise ConfigError(f"--species {' '.join(missing)}: not in {path} (it holds {' '.join(present)})")
        masks = {name: trajectory.numbers == atomic_numbers[name] for name in wanted}
        needed = len(indices) * trajectory.natoms * _BYTES_PER_FRAME_ATOM / 2**30
        if needed > args.memory_GiB:
            raise ConfigError(f"{path}: the analysis would need about {needed:.1f} GiB for {len(indices)} frames x "
                              f"{trajectory.natoms} atoms (--memory-GiB {args.memory_GiB:g}); use --stride or "
                              "--start-ps")
        unwrapped = trajectory.positions(indices, unwrapped=True)
        cells = np.stack([trajectory.cell(int(i)) for i in indices])
        check_steps_between_frames(unwrapped[:, np.logical_or.reduce(list(masks.values()))], cells, indices, path)
        report = {
            "trajectory": str(path), "kinisi_version": version, "written": datetime.now(timezone.utc).isoformat(
                timespec="seconds"),
            "frames": int(len(indices)), "first_frame_time_ps": float(trajectory.times_ps[indices[0]]),
            "frame_interval_ps": interval_ps, "steps_between_frames": step_skip,
            "md_time_step_ps": interval_ps / step_skip,
            "input": "each species' atoms alone, unwrapped by simkit (positions + image flags x cell), as ASE Atoms "
                     "with pbc off so kinisi does not re-wrap them; no drift correction",
            "lag_grid": {"lags": int(len(lags)), "spacing": "linear", "first_ps": float(lag_ps[0]),
                         "last_ps": float(lag_ps[-1]), "max_lag_fraction": args.max_lag_fraction,
                         "lag_ps": [float(v) for v in lag_ps]},
            "species": {},
        }
        for name, mask in masks.items():
            entry: dict = {"atoms": int(mask.sum())}
            if args.diffusive_from_ps is None:
                entry["simkit"] = simkit_window(trajectory, name, args)
                start = entry["simkit"]["window"]["start_ps"]
                source = "start of simkit's diffusive window (simkit.diffusion.window) on the same frames"
                if not entry["simkit"]["window"]["diffusive"]:
                    source += "; simkit found no diffusive window, so this start is its fallback"
            else:
                start, source = args.diffusive_from_ps, "--diffusive-from-ps"
            frames = [Atoms(numbers=np.full(int(mask.sum()), atomic_numbers[name]), positions=unwrapped[k][mask],
                            cell=cells[k], pbc=False) for k in range(len(indices))]
            entry["diffusive_regime"] = {"start_ps": float(start), "source": source}
            entry["kinisi"] = kinisi_D(frames, name, lag_ps, lags, interval_ps / step_skip, step_skip, start, args,
                                       scipp, DiffusionAnalyzer)
            report["species"][name] = entry
            k = entry["kinisi"]
            line = (f"{name}: kinisi D = {k['D_A2_per_ps']:.4g} Å²/ps (95 % {k['ci95_A2_per_ps'][0]:.4g}-"
                    f"{k['ci95_A2_per_ps'][1]:.4g}) over {len(lags)} lags from {start:.3g} ps")
            if "simkit" in entry:
                line += f"; simkit D = {entry['simkit']['D_A2_per_ps']:.4g} ± {entry['simkit']['D_err_A2_per_ps']:.2g}"
            print(line)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(run_recipe(main))
