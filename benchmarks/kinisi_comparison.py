#!/usr/bin/env python
"""Tracer D of one real ``simkit diffusion`` run by simkit's estimator and by kinisi on several lag grids.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/kinisi_comparison.py --record benchmarks/results/kinisi_comparison.md

1. ``simkit diffusion`` (one process, one core) on the shipped liquid-Cu example
   (``inputs/diffusion_cu_liquid.yaml``: Zhou EAM, melt from 2500 K, NPT ramp and hold, rescale, NVT
   Nose-Hoover production) cut down to one temperature, a smaller cell, 2 fs steps and shorter stages
   (the values are in the record);
2. simkit's D with its bootstrap error and diffusive window, from the run's own ``diffusion.json``, and
   again with the lags cut at ``--short-fraction`` of the run (simkit's fit weights lags by the time they
   stand for, so its longest, noisiest lags weigh most);
3. ``analysis/kinisi_diffusion.py`` on the production trajectory once per lag grid (``--lags``, lags up
   to half the run), and once with ``--short-lags`` lags up to ``--short-fraction`` of the run, every time
   from simkit's window start and with the same sampler seed: kinisi's D (posterior mean and standard
   deviation, 95 % credible interval) and the recipe's wall time and peak memory.

Prints the Markdown record (and writes it with ``--record``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import yaml

from simkit.bench.machine import summary_line
from simkit.diffusion.analysis import analyse_trajectory
from simkit.diffusion.settings import AnalysisSettings
from simkit.io import TRAJECTORY_FILE, open_trajectory

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "inputs" / "diffusion_cu_liquid.yaml"
RECIPE = REPO / "analysis" / "kinisi_diffusion.py"
SIMKIT = Path(sys.executable).parent / "simkit"
# Runs the recipe and prints its peak resident memory (MiB) last, so each grid's memory is its own.
PEAK = """import resource, runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    print("peak_MiB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def config(args, output_dir: Path) -> dict:
    """The shipped example with this benchmark's cuts (output_dir, one temperature, cell, stages)."""
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(output_dir=str(output_dir), temperatures_K=[args.temperature_K], timestep_fs=args.timestep_fs,
                checkpoint_every=None, schedule={"kind": "sequential"})
    data["structure"]["repeat"] = [args.repeat] * 3
    data["equilibration"].update(ramp_ps=args.ramp_ps, hold_ps=args.hold_ps)
    data["production"] = {"duration_ps": args.production_ps, "trajectory_every": args.trajectory_every,
                          "thermo_every": 100}
    return data


def simkit_short(folder: Path, fraction: float, temperature_K: float) -> dict:
    """simkit's analysis of the production trajectory again, with lags only up to ``fraction`` of the run."""
    settings = AnalysisSettings(max_lag_fraction=fraction, collective=False)
    with open_trajectory(folder / TRAJECTORY_FILE) as trajectory:
        result = analyse_trajectory(trajectory, temperature_K, ["Cu"], settings, rng=np.random.default_rng(0),
                                    progress=False)
    cu = result.species["Cu"]
    return {"tracer": cu.tracer.describe(), "window": cu.window.describe()}


def run(argv: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--temperature-K", type=float, default=1600.0)
    parser.add_argument("--repeat", type=int, default=5, help="fcc cubic cells per edge (default 5: 500 atoms)")
    parser.add_argument("--timestep-fs", type=float, default=2.0)
    parser.add_argument("--ramp-ps", type=float, default=4.0)
    parser.add_argument("--hold-ps", type=float, default=6.0)
    parser.add_argument("--production-ps", type=float, default=40.0)
    parser.add_argument("--trajectory-every", type=int, default=5, help="MD steps between frames")
    parser.add_argument("--lags", type=int, nargs="+", default=[25, 75, 300], help="kinisi lag grids to compare")
    parser.add_argument("--short-fraction", type=float, default=0.125,
                        help="the shorter lag range, as a fraction of the run")
    parser.add_argument("--short-lags", type=int, default=75, help="kinisi lags on the shorter range")
    parser.add_argument("--workdir", type=Path, help="keep the run here (default: a temporary folder)")
    parser.add_argument("--record", type=Path, help="also write the Markdown record here")
    args = parser.parse_args()
    machine = summary_line()
    with tempfile.TemporaryDirectory() as scratch:
        work = (args.workdir or Path(scratch)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        data = config(args, work / "run")
        (work / "diffusion.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        md_s, _ = run([str(SIMKIT), "diffusion", str(work / "diffusion.yaml"), "--no-progress"], work)
        folder = work / "run" / f"T{args.temperature_K:g}K"
        simkit = json.loads((folder / "analysis" / "diffusion.json").read_text())
        short = simkit_short(folder, args.short_fraction, args.temperature_K)
        grids = []
        for lags, fraction in [*((n, 0.5) for n in args.lags), (args.short_lags, args.short_fraction)]:
            out = work / f"kinisi_{lags}_{fraction:g}.json"
            seconds, stdout = run([sys.executable, "-c", PEAK, str(RECIPE), str(folder), "--lags", str(lags),
                                   "--max-lag-fraction", str(fraction), "--species", "Cu", "-o", str(out)], work)
            peak = float(stdout.strip().splitlines()[-1].split()[-1])
            grids.append((lags, fraction, json.loads(out.read_text()), seconds, peak))
    print_record(args, data, machine, md_s, simkit, short, grids)


def _simkit_row(label: str, cu: dict) -> str:
    tracer, window = cu["tracer"], cu["window"]
    return (f"| {label} | {tracer['fit_lags']} grid lags (log + linear) in the window {window['start_ps']:.3g}-"
            f"{window['stop_ps']:.3g} ps | {tracer['D_A2_per_ps']:.4f} | ± {tracer['D_err_A2_per_ps']:.4f} (1 sigma, "
            f"bootstrap over {tracer['particles']} particles); 95 % {tracer['ci95_A2_per_ps'][0]:.4f}-"
            f"{tracer['ci95_A2_per_ps'][1]:.4f} | | |")


def print_record(args, data: dict, machine: str, md_s: float, simkit: dict, short: dict, grids: list) -> None:
    cu = simkit["species"]["Cu"]
    window = cu["window"]
    first = grids[0][2]
    command = ("OMP_NUM_THREADS=1 .venv/bin/python benchmarks/kinisi_comparison.py"
               + (f" --record {args.record}" if args.record else ""))
    defaults = ", ".join(f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
                         for k, v in vars(args).items() if k not in ("workdir", "record"))
    atoms = 4 * args.repeat**3
    lines = [
        "# simkit's D and kinisi's D for one liquid-Cu run, at several kinisi lag grids",
        "",
        f"- command: `{command}` (options: {defaults})",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- host: {machine}",
        f"- run: `simkit diffusion` on `inputs/diffusion_cu_liquid.yaml` (Zhou EAM) cut to {atoms} atoms, "
        f"{args.temperature_K:g} K, {args.timestep_fs:g} fs steps, start {data['equilibration']['start_K']:g} K, "
        f"NPT ramp {args.ramp_ps:g} ps + hold {args.hold_ps:g} ps, rescale, NVT production {args.production_ps:g} ps "
        f"with a frame every {args.trajectory_every} steps ({first['frames']} frames); {md_s:.0f} s on one process "
        "(MD and simkit's analysis)",
        f"- kinisi {first['kinisi_version']} through `analysis/kinisi_diffusion.py`: unwrapped positions of the "
        f"Cu atoms (image flags), frame interval {first['frame_interval_ps']:.4g} ps from the file, evenly spaced lags "
        f"from one frame, fit from simkit's window start {window['start_ps']:.3g} ps to the last lag, "
        "MCMC 32 walkers x 1000 samples after 500 burn-in, thinned by 10, seed 0",
        "",
        "| estimator | lags | D (Å²/ps) | uncertainty | wall time | peak memory |",
        "|---|---|---|---|---|---|",
        _simkit_row("simkit (the run's analysis: lags to half the run)", cu),
        _simkit_row(f"simkit, lags to {args.short_fraction:g} of the run", short),
    ]
    for lags, fraction, report, seconds, peak in grids:
        k = report["species"]["Cu"]["kinisi"]
        same = (short if fraction == args.short_fraction else cu)["tracer"]  # simkit over the same lag range
        combined = (same["D_err_A2_per_ps"]**2 + k["D_std_A2_per_ps"]**2) ** 0.5
        pull = (k["D_A2_per_ps"] - same["D_A2_per_ps"]) / combined
        low, high = k["ci95_A2_per_ps"]
        lines.append(
            f"| kinisi (posterior mean), lags to {fraction:g} of the run | {report['lag_grid']['lags']} lags to "
            f"{report['lag_grid']['last_ps']:.3g} ps, {k['fitted_lags']} fitted | {k['D_A2_per_ps']:.4f} | "
            f"± {k['D_std_A2_per_ps']:.4f} (posterior std); 95 % {low:.4f}-{high:.4f}; {pull:+.2f} combined sigma "
            f"from simkit over the same lags | {seconds:.0f} s | {peak:.0f} MiB |")
    lines += ["", f"simkit's window rule: {window['reason']}; diffusive: {window['diffusive']}."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        args.record.write_text(text)


if __name__ == "__main__":
    main()
