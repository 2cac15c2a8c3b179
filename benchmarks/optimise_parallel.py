"""Candidates per hour of ``simkit optimise`` with k = 1 and k = 2 candidates at once on 2 cores.

Each run is a fresh ``simkit optimise`` process (worker start-up included) on
the same problem: a quadratic SNAP for Si on 22 teacher-labelled frames, a
search space whose candidates all cost about the same (twojmax fixed at 4;
rcutfac, ridge alpha and force weight searched), every candidate fitted,
timed (512 atoms) and screened for survival (2 replicas of 128 atoms,
1.2 ps at 1500 K), early stop off so every candidate runs every stage. With k = 1 a
candidate gets both cores: 2 BLAS threads and, by default, 2 survival worker
processes (whose start-up a short screen does not amortise, so k = 1 is also
run with the replicas in the candidate's own process); with k = 2 each
candidate gets one core. Runs cycle through the variants to spread the
machine's background load over all of them. Throughput = finished candidates
/ wall time of the whole command; CPU time (of the command and all its
children) shows how much of the 2 cores the run actually got.

    .venv/bin/python benchmarks/optimise_parallel.py --record benchmarks/results/optimise_parallel.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import yaml
from _optimise_child import run_optimise, stop_on_sigterm

_MACHINE_KEYS = ("hostname", "cpu_model", "physical_cores", "available_cpus", "platform")
SI_CELL = {"bulk": {"element": "Si", "crystal": "diamond", "a_A": 5.431, "cubic": True}}


def _dataset(directory: Path) -> Path:
    from ase.build import bulk

    from simkit.datasets import teacher, write_dataset
    from simkit.lammps.potentials import SnapPotential
    from simkit.runtime.paths import lammps_potentials_dir

    d = lammps_potentials_dir()
    si = SnapPotential(d / "Si_Zuo_JPCA2020.snapcoeff", d / "Si_Zuo_JPCA2020.snapparam")
    data = teacher.teacher_dataset(si, bulk("Si", "diamond", a=5.43, cubic=True), np.random.default_rng(11),
                                   rattled=8, strained=8, molten=6)
    return write_dataset(data, directory / "si_small.extxyz")


def _config(data: Path, out: Path, candidates: int, k: int, survival_workers: int | None) -> dict:
    return {
        "output_dir": str(out), "seed": 7,
        "fit": {"backend": "snap", "elements": ["Si"], "seed": 1,
                "data": {"train": str(data), "validation": {"kind": "holdout", "fraction": 0.25}},
                "snap": {"twojmax": 4, "quadratic": True, "solver": {"kind": "ridge", "alpha": 1e-6}},
                "scoring": {"parity_plot": False}},
        "search_space": {"snap.rcutfac": {"real": [4.2, 4.8]},
                         "snap.solver.alpha": {"real": [1e-9, 1e-4], "prior": "log-uniform"},
                         "weights.forces": {"real": [0.5, 2.0], "prior": "log-uniform"}},
        "objective": {"cost_weight": 1.0, "instability_weight": 1.0, "scale": "log", "early_stop": False},
        "speed": {"structure": SI_CELL, "size_atoms": 512, "steps": 40, "warmup_steps": 5, "repeats": 3},
        "survival": {"structure": SI_CELL, "temperatures_K": [1500], "replicas": 2, "duration_ps": 1.0,
                     "target_atoms": 128, "nve_duration_ps": 0.2, "workers": survival_workers},
        "budget": {"candidates": candidates}, "optimiser": {"initial_points": 4},
        "parallel": {"candidates": k}, "progress": False,
    }


def _run(data: Path, workdir: Path, variant: tuple[str, int, int | None], repeat: int, candidates: int) -> dict:
    name, k, survival_workers = variant
    out = workdir / f"{name}-run{repeat}"
    path = workdir / f"{name}-run{repeat}.yaml"
    path.write_text(yaml.safe_dump(_config(data, out, candidates, k, survival_workers), sort_keys=False))
    load = os.getloadavg()[0]
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run_optimise(path, workdir)
    wall = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    from simkit.optimise.journal import read_rows

    rows = read_rows(out)
    finished = [r for r in rows if r["status"] in ("ok", "pruned", "infeasible", "failed")]
    totals = [r["outcome"]["timings_s"]["total_s"] for r in finished]
    # Steady state: from the first candidate handed out to the last one finished (start-up and results excluded).
    first = min(datetime.fromisoformat(r["dispatched_at"]) for r in finished)
    last = max(datetime.fromisoformat(r["finished_at"]) for r in finished)
    return {
        "variant": name, "k": k, "repeat": repeat, "wall_s": wall, "finished": len(finished),
        "ok": sum(r["status"] == "ok" for r in finished),
        "candidates_per_hour": 3600.0 * len(finished) / wall,
        "steady_candidates_per_hour": 3600.0 * len(finished) / max(1.0, (last - first).total_seconds()),
        "median_candidate_s": statistics.median(totals),
        "cpu_s": (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime),
        "load_before": load, "load_after": os.getloadavg()[0],
    }


# (name, k, survival worker processes per candidate; None = the default: the candidate's cores if > 1)
VARIANTS = (("k1", 1, None), ("k1-survival-in-process", 1, 0), ("k2", 2, None))


def _report(results: list[dict], args, command: str) -> str:
    from simkit.bench.machine import machine_info

    machine = machine_info()
    rate = {name: statistics.median(r["candidates_per_hour"] for r in results if r["variant"] == name)
            for name, _, _ in VARIANTS}
    steady = {name: statistics.median(r["steady_candidates_per_hour"] for r in results if r["variant"] == name)
              for name, _, _ in VARIANTS}
    cpu = {name: statistics.median(r["cpu_s"] / r["finished"] for r in results if r["variant"] == name)
           for name, _, _ in VARIANTS}
    lines = [
        "# simkit optimise: candidates per hour, k = 1 vs k = 2 candidates at once (2 cores)", "",
        f"- command: `{command}`",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {json.dumps({k: machine[k] for k in _MACHINE_KEYS if k in machine})}",
        f"- problem: quadratic SNAP (twojmax 4) for Si, 22 frames; 3-dimensional search space; every candidate "
        f"fitted, timed (512 atoms, 3 x 40 steps) and screened (2 replicas x 128 atoms, 1.2 ps at 1500 K); "
        f"{args.candidates} candidates per run, 4 from the initial design, early stop off",
        "- variants: `k1` = one candidate at a time with both cores (2 BLAS threads, survival replicas on 2 worker "
        "processes, the default); `k1-survival-in-process` = the same with `survival.workers: 0` (replicas one "
        "after another in the candidate's process); `k2` = two candidates at once, one core each",
        "", "| variant | k | run | wall (s) | finished | candidates/hour | median candidate (s) | CPU (s) "
        "| CPU / (2 x wall) | steady-state candidates/hour | load avg before / after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['variant']} | {r['k']} | {r['repeat']} | {r['wall_s']:.1f} | {r['finished']} | "
            f"{r['candidates_per_hour']:.0f} | {r['median_candidate_s']:.1f} | {r['cpu_s']:.1f} | "
            f"{r['cpu_s'] / (2 * r['wall_s']):.2f} | {r['steady_candidates_per_hour']:.0f} | "
            f"{r['load_before']:.2f} / {r['load_after']:.2f} |"
        )
    lines += [
        "",
        f"**Throughput k = 2 / k = 1 (medians over runs): {rate['k2'] / rate['k1']:.2f}x against the default k = 1, "
        f"{rate['k2'] / rate['k1-survival-in-process']:.2f}x against k = 1 with in-process survival** "
        f"({rate['k1']:.0f}, {rate['k1-survival-in-process']:.0f} and {rate['k2']:.0f} candidates per hour).",
        "",
        f"Steady state (first candidate out to last one in): k = 2 / k = 1 {steady['k2'] / steady['k1']:.2f}x, "
        f"against in-process survival {steady['k2'] / steady['k1-survival-in-process']:.2f}x.",
        "",
        f"CPU seconds per candidate (medians): k1 {cpu['k1']:.1f}, k1-survival-in-process "
        f"{cpu['k1-survival-in-process']:.1f}, k2 {cpu['k2']:.1f}.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=10, help="budget of each run")
    parser.add_argument("--repeats", type=int, default=2, help="runs per k (alternating k = 1, k = 2)")
    parser.add_argument("--workdir", type=Path, help="keep the runs here (default: a temporary directory)")
    parser.add_argument("--record", type=Path, help="write the markdown report here")
    args = parser.parse_args()
    stop_on_sigterm()
    command = " ".join(shlex.quote(a) for a in [".venv/bin/python", "benchmarks/optimise_parallel.py", *sys.argv[1:]])
    temporary = tempfile.TemporaryDirectory(prefix="simkit-optimise-bench-") if args.workdir is None else None
    workdir = Path(args.workdir or temporary.name).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        data = _dataset(workdir)
        results = []
        for repeat in range(1, args.repeats + 1):
            for variant in VARIANTS:
                results.append(_run(data, workdir, variant, repeat, args.candidates))
                print(json.dumps(results[-1]), flush=True)
        report = _report(results, args, command)
        print(report)
        if args.record:
            args.record.parent.mkdir(parents=True, exist_ok=True)
            args.record.write_text(report)
    finally:
        if temporary is not None:
            temporary.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
