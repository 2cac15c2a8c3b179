#!/usr/bin/env python
"""Benchmark the diffusion analysis of a large trajectory; prints a Markdown report.

    .venv/bin/python benchmarks/diffusion_msd.py [--atoms 10000 --frames 10000] > benchmarks/results/diffusion_msd.md

1. writes a synthetic trajectory with simkit's H5mdWriter (float32 positions + image flags,
   gzip 1): Brownian Li (D = 0.5 Å^2/ps) and Te (D = 0.05 Å^2/ps) in a periodic box, half each;
2. runs :func:`simkit.diffusion.analysis.analyse_trajectory` on it in a fresh process (so its
   peak memory is its own): MSD over every origin by FFT for every atom, alpha_2 and per-particle
   MSDs on the lag grid, van Hove at 4 lags, collective and charge displacements, window choice,
   bootstrap; reports wall and CPU time, peak resident memory, and the recovered D against the truth.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from simkit.bench.machine import summary_line

D_TRUE = {"Li": 0.5, "Te": 0.05}  # Å^2/ps
NUMBERS = {"Li": 3, "Te": 52}
FRAME_PS = 0.1
BOX_A = 60.0


def write_trajectory(path: Path, atoms: int, frames: int, seed: int = 1) -> float:
    from simkit.io import H5mdWriter

    rng = np.random.default_rng(seed)
    numbers = np.where(np.arange(atoms) % 2 == 0, NUMBERS["Li"], NUMBERS["Te"])
    step_std = np.sqrt(2 * np.where(numbers == NUMBERS["Li"], D_TRUE["Li"], D_TRUE["Te"]) * FRAME_PS)[:, None]
    positions = rng.uniform(0.0, BOX_A, size=(atoms, 3))
    start = time.perf_counter()
    with H5mdWriter(path, position_dtype="float32", compression_level=1, flush_every=100) as writer:
        for k in range(frames):
            if k:
                positions += step_std * rng.normal(size=(atoms, 3))
            writer.append_frame(step=100 * k, time_ps=FRAME_PS * k, positions_A=positions,
                                cell_A=np.eye(3) * BOX_A, numbers=numbers)
    return time.perf_counter() - start


def analyse(path: Path, memory_MiB: float) -> dict:
    """Run in its own process: the analysis, timed, with its peak memory."""
    from simkit.diffusion.analysis import analyse_trajectory
    from simkit.diffusion.displacements import _blocks
    from simkit.diffusion.settings import AnalysisSettings
    from simkit.io import open_trajectory

    settings = AnalysisSettings(memory_MiB=memory_MiB)
    start, cpu = time.perf_counter(), time.process_time()
    with open_trajectory(path) as trajectory:
        result = analyse_trajectory(trajectory, 1000.0, ["Li", "Te"], settings, rng=np.random.default_rng(2),
                                    charges_e={"Li": 1.0, "Te": -1.0}, progress=False)
        blocks, work = _blocks(np.ones(trajectory.natoms, bool), len(trajectory), memory_MiB)
    report = {
        "wall_s": time.perf_counter() - start,
        "cpu_s": time.process_time() - cpu,
        "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "read_blocks": len(blocks), "atoms_per_transform": work,
        "grid_lags": int(len(result.displacements.grid)),
        "species": {},
    }
    for name, species in result.species.items():
        report["species"][name] = {
            "D": species.tracer.D_A2_per_ps, "err": species.tracer.D_err_A2_per_ps,
            "window": [species.window.start_ps, species.window.stop_ps], "diffusive": species.window.diffusive,
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--atoms", type=int, default=10_000)
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--memory-MiB", type=float, default=1024.0)
    parser.add_argument("--workdir", type=Path, help="where the trajectory goes (default: a temporary folder)")
    parser.add_argument("--analyse", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.analyse:
        print(json.dumps(analyse(args.analyse, args.memory_MiB)))
        return
    machine = summary_line()
    with tempfile.TemporaryDirectory(dir=args.workdir) as folder:
        path = Path(folder) / "walk.h5md"
        write_s = write_trajectory(path, args.atoms, args.frames)
        size_GB = path.stat().st_size / 1e9
        child = subprocess.run(
            [sys.executable, __file__, "--analyse", str(path), "--memory-MiB", str(args.memory_MiB)],
            capture_output=True, text=True, check=True,
        )
        report = json.loads(child.stdout.strip().splitlines()[-1])
    command = f".venv/bin/python benchmarks/diffusion_msd.py --atoms {args.atoms} --frames {args.frames} " \
              f"--memory-MiB {args.memory_MiB:g}"
    lines = [
        "# Diffusion analysis benchmark (MSD, alpha_2, van Hove, bootstrap)",
        "",
        f"- command: `{command}`",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {machine}",
        "",
        "| measurement | result |",
        "|---|---|",
        f"| synthetic trajectory (H5mdWriter, float32 + images, gzip 1) | {args.atoms:,} atoms x {args.frames:,} frames, "
        f"{size_GB:.2f} GB, written in {write_s:.0f} s |",
        f"| **diffusion analysis, wall time** | **{report['wall_s']:.0f} s** ({report['wall_s'] / 60:.1f} min) |",
        f"| CPU time | {report['cpu_s']:.0f} s |",
        f"| peak resident memory (analysis process) | {report['peak_rss_MiB']:.0f} MiB "
        f"(budget memory_MiB = {args.memory_MiB:g}) |",
        f"| passes over the file / atoms per transform / grid lags | {report['read_blocks']} / "
        f"{report['atoms_per_transform']} / {report['grid_lags']} |",
    ]
    for name, values in report["species"].items():
        pull = (values["D"] - D_TRUE[name]) / values["err"]
        lines.append(
            f"| D {name} (true {D_TRUE[name]:g} Å²/ps) | {values['D']:.5f} ± {values['err']:.5f} Å²/ps "
            f"({pull:+.1f} sigma), window {values['window'][0]:.3g}-{values['window'][1]:.4g} ps, "
            f"diffusive: {values['diffusive']} |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
