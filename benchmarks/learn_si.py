"""The recorded ``simkit learn`` run: an ACE student for Si fitted on diamond only, taught by gamma.

    .venv/bin/python benchmarks/learn_si.py [--output benchmarks/results/learn_si.md]

Runs ``simkit distil inputs/distil_si_learn.yaml`` (the narrow training set and the held-out
benchmark, labelled by the Zuo et al. 2020 SNAP) and ``simkit learn inputs/learn_si.yaml
--overwrite``, then records each iteration (learn.md) with the commands and wall times.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIMKIT = Path(sys.executable).with_name("simkit")


def run(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([str(SIMKIT), *args], cwd=REPO / "inputs", check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, help="also write the Markdown record here")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    distil_s = run("distil", "distil_si_learn.yaml")
    learn_s = run("learn", "learn_si.yaml", "--overwrite")
    table = (REPO / "runs" / "learn-si" / "learn.md").read_text().split("\n", 2)[2]
    shown = Path(sys.executable).relative_to(REPO) if Path(sys.executable).is_relative_to(REPO) else sys.executable
    lines = [
        "# `simkit learn` on silicon: a diamond-only ACE student taught by its extrapolation grade", "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- command: `{shown} {' '.join(sys.argv)}` (load average at start {load:.1f}, {os.cpu_count()} cores)",
        f"- `simkit distil inputs/distil_si_learn.yaml`: {distil_s:.0f} s; "
        f"`simkit learn inputs/learn_si.yaml --overwrite`: {learn_s:.0f} s",
        "- teacher: linear SNAP of Zuo et al. 2020 (Si); starting data: 10 rattled or strained 64-atom diamond "
        "cells; benchmark: 8 frames of 64-atom MD at 1200 and 2500 K (never trained on)",
        "- each iteration: pacemaker fit (30 functions, refits continue from the previous coefficients), "
        "benchmark errors in LAMMPS, survival screen at 2000 and 4000 K (3 replicas each, 2 ps, 64 atoms) "
        "grading gamma every 20 steps, the teacher labels each replica's most extrapolative cell above gamma 5",
        "", table,
    ]
    report = "\n".join(lines)
    print(report)
    if args.output:
        args.output.write_text(report)


if __name__ == "__main__":
    main()
