"""The recorded ``simkit learn`` runs: under-trained ACE students (crystal only) taught by gamma.

    .venv/bin/python benchmarks/learn.py [--system si|sb2te3] [--output benchmarks/results/learn_si.md]

Runs ``simkit distil inputs/distil_<system>_learn.yaml`` (the narrow training set and the
held-out benchmark, labelled by the teacher) and ``simkit learn inputs/learn_<system>.yaml
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


SYSTEMS = {
    "si": ("a diamond-only ACE student taught by its extrapolation grade", [
        "teacher: linear SNAP of Zuo et al. 2020 (Si); starting data: 10 rattled or strained 64-atom diamond "
        "cells; benchmark: 8 frames of 64-atom MD at 1200 and 2500 K (never trained on)",
        "each iteration: pacemaker fit (30 functions, refits continue from the previous coefficients), "
        "benchmark errors in LAMMPS, survival screen at 2000 and 4000 K (3 replicas each, 2 ps, 64 atoms) "
        "grading gamma every 20 steps, the teacher labels each replica's first cell above gamma 5 (the onset), "
        "at most 6, energy weight 0.3"]),
    "sb2te3": ("a crystal-only Sb2Te3 ACE student taught by its extrapolation grade", [
        "teacher: the XPOT Sb2Te3 ACE (simkit:XPOT-Sb2Te3.yace); starting data: 14 rattled or strained 80-atom "
        "rocksalt-like cells; benchmark: 80-atom MD frames of the crystal at 300 K and the liquid at 1200 K",
        "each iteration: pacemaker fit (32 functions per element, ZBL below 2.6 A, refits continue from the "
        "previous coefficients, 150 iterations), benchmark errors in LAMMPS, survival screen at 900 and 1400 K "
        "(6 replicas each, 3 ps, 80 atoms) grading gamma every 20 steps, the teacher labels each replica's first "
        "cell above gamma 3 (the onset), at most 12, energy weight 1.0"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--system", choices=sorted(SYSTEMS), default="si")
    parser.add_argument("--output", type=Path, help="also write the Markdown record here")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    distil_s = run("distil", f"distil_{args.system}_learn.yaml")
    learn_s = run("learn", f"learn_{args.system}.yaml", "--overwrite")
    table = (REPO / "runs" / f"learn-{args.system}" / "learn.md").read_text().split("\n", 2)[2]
    title, setup = SYSTEMS[args.system]
    shown = Path(sys.executable).relative_to(REPO) if Path(sys.executable).is_relative_to(REPO) else sys.executable
    lines = [
        f"# `simkit learn` ({args.system}): {title}", "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- command: `{shown} {' '.join(sys.argv)}` (load average at start {load:.1f}, {os.cpu_count()} cores)",
        f"- `simkit distil inputs/distil_{args.system}_learn.yaml`: {distil_s:.0f} s; "
        f"`simkit learn inputs/learn_{args.system}.yaml --overwrite`: {learn_s:.0f} s",
        *[f"- {line}" for line in setup],
        "", table,
    ]
    report = "\n".join(lines)
    print(report)
    if args.output:
        args.output.write_text(report)


if __name__ == "__main__":
    main()
