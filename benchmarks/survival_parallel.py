"""Parallel efficiency of a survival screen: 16 replicas of a 1000-atom cell, 10 ps each.

Measures, on this machine:

1. the serial cost of one replica: ``--baseline-replicas`` replicas on one
   worker process, one after another (``t1`` = their mean wall time, worker
   start-up included);
2. the full screen on ``--workers`` worker processes (``simkit survive``'s
   default path);
3. the same screen under ``mpirun -np <workers> simkit survive`` (one replica
   per rank), unless ``--no-mpi``.

The ideal wall time on W cores is ``replicas x t1 / W``; the parallel
efficiency printed is ideal / achieved. The default potential is the Cu EAM
shipped with LAMMPS (so the benchmark takes minutes, not hours); the checks,
scheduling and process overheads being measured are the same for any potential.

    .venv/bin/python benchmarks/survival_parallel.py --record benchmarks/results/survival_parallel.md
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from ase.build import bulk

from simkit.bench.machine import machine_info
from simkit.lammps.potentials import EamPotential
from simkit.runtime.mpi import mpirun_executable
from simkit.runtime.paths import lammps_potentials_dir
from simkit.screening.settings import SurvivalSettings
from simkit.screening.survival import run_survival

CONFIG = """\
output_dir: {out}
seed: 2025
potential: {{kind: eam/alloy, file: lammps:Cu_zhou.eam.alloy}}
structure: {{bulk: {{element: Cu, crystal: fcc, a_A: 3.615, cubic: true}}}}
replica_logs: false
survival: {survival}
"""


def _settings(args, replicas: int) -> SurvivalSettings:
    return SurvivalSettings(
        temperatures_K=[args.temperature_K], replicas=replicas, duration_ps=args.duration_ps - args.nve_ps,
        nve_duration_ps=args.nve_ps, target_atoms=args.atoms, timestep_fs=1.0, check_every_steps=100,
    )


def _cpu_share(replicas) -> float:
    """CPU time the replicas got over their wall time: 1 when each had a core to itself."""
    replicas = list(replicas)
    return sum(r["cpu_s"] for r in replicas) / sum(r["wall_s"] for r in replicas)


def _row(mode: str, cores: int, wall_s: float, survival: float, replicas: list[dict]) -> dict:
    return {"mode": mode, "cores": cores, "wall_s": wall_s, "survival": survival,
            "replica_wall_s": sum(r["wall_s"] for r in replicas), "replica_cpu_s": sum(r["cpu_s"] for r in replicas),
            "cpu_share": _cpu_share(replicas)}


def _decompose(row: dict, serial_cpu_s: float, replicas: int) -> None:
    """Split the efficiency into parts that do not depend on other jobs sharing the machine.

    slot_use: fraction of the cores' wall time spent inside replicas (the rest is start-up,
    scheduling and idle tails); cpu_ratio: CPU time per replica against the serial run's (work
    added by running replicas side by side); cpu_efficiency = slot_use / cpu_ratio is the
    efficiency the screen reaches on cores it has to itself.
    """
    row["slot_use"] = row["replica_wall_s"] / (row["cores"] * row["wall_s"])
    row["cpu_ratio"] = row["replica_cpu_s"] / replicas / serial_cpu_s
    row["cpu_efficiency"] = row["slot_use"] / row["cpu_ratio"]


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=16)
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--duration-ps", type=float, default=10.0, help="total per replica, NVE segment included")
    parser.add_argument("--nve-ps", type=float, default=1.0)
    parser.add_argument("--temperature-K", type=float, default=1000.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline-replicas", type=int, default=2)
    parser.add_argument("--no-mpi", action="store_true")
    parser.add_argument("--bracket", action="store_true", help="measure the serial baseline again at the end")
    parser.add_argument("--record", type=Path, help="write the results as markdown here")
    args = parser.parse_args()

    potential = EamPotential(lammps_potentials_dir() / "Cu_zhou.eam.alloy")
    cell = bulk("Cu", "fcc", 3.615, cubic=True)
    rows = []
    load_before = _load()

    baseline_shares: list[float] = []
    baseline_cpu: list[float] = []

    def serial_baseline(seed: int) -> tuple[float, float, int]:
        report = run_survival(potential, _settings(args, args.baseline_replicas), structures=[cell], workers=1,
                              seed=seed)
        per_replica = report.wall_s / args.baseline_replicas
        inside = sum(r.wall_s for r in report.replicas) / args.baseline_replicas
        share = _cpu_share(r.to_dict() for r in report.replicas)
        baseline_shares.append(share)
        baseline_cpu.append(sum(r.cpu_s for r in report.replicas) / args.baseline_replicas)
        print(f"serial: {args.baseline_replicas} replicas of {report.replicas[0].natoms} atoms in "
              f"{report.wall_s:.1f} s -> {per_replica:.2f} s per replica ({inside:.2f} s inside the replica, "
              f"CPU share {share:.2f})")
        return per_replica, inside, report.replicas[0].natoms

    t1, t1_compute, natoms = serial_baseline(seed=1)
    ideal = args.replicas * t1 / args.workers

    pool = run_survival(potential, _settings(args, args.replicas), structures=[cell], workers=args.workers, seed=2)
    rows.append(_row("worker processes", args.workers, pool.wall_s, pool.survival_fraction,
                     [r.to_dict() for r in pool.replicas]))
    print(f"processes: {args.replicas} replicas on {args.workers} workers in {pool.wall_s:.1f} s "
          f"(ideal {ideal:.1f} s, efficiency {ideal / pool.wall_s:.3f}); survival {pool.survival_fraction:.2f}")

    if not args.no_mpi:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "mpi"
            survival = json.dumps(_settings(args, args.replicas).model_dump(mode="json"))
            config = Path(tmp) / "survive.yaml"
            config.write_text(CONFIG.format(out=out, survival=survival))
            command = [str(mpirun_executable()), "-np", str(args.workers), str(Path(sys.executable).parent / "simkit"),
                       "survive", str(config)]
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, text=True, cwd=tmp)
            wall = time.perf_counter() - start
            data = json.loads((out / "survival.json").read_text())
        rows.append(_row("mpirun ranks", args.workers, wall, data["survival_fraction"], data["replicas"]))
        print(f"mpirun: {args.replicas} replicas on {args.workers} ranks in {wall:.1f} s "
              f"(ideal {ideal:.1f} s, efficiency {ideal / wall:.3f}); survival {data['survival_fraction']:.2f}")

    if args.bracket:
        # On a shared machine the load drifts: average the serial cost measured before and after.
        t1_after, compute_after, _ = serial_baseline(seed=3)
        t1, t1_compute = 0.5 * (t1 + t1_after), 0.5 * (t1_compute + compute_after)
        ideal = args.replicas * t1 / args.workers
        for row in rows:
            print(f"{row['mode']}: efficiency against the bracketed baseline {ideal / row['wall_s']:.3f}")
    cpu1 = sum(baseline_cpu) / len(baseline_cpu)
    for row in rows:
        _decompose(row, cpu1, args.replicas)
        print(f"{row['mode']}: cores busy inside replicas {row['slot_use']:.3f}, CPU per replica "
              f"{row['cpu_ratio']:.3f} x serial, CPU-time efficiency {row['cpu_efficiency']:.3f}")
    if args.record:
        _record(args, natoms, t1, t1_compute, cpu1, ideal, rows, load_before, baseline_shares)
    return 0


def _record(args, natoms, t1, t1_compute, cpu1, ideal, rows, load_before, baseline_shares) -> None:
    machine = machine_info()
    lines = [
        "# Survival screen: parallel efficiency",
        "",
        f"Command: `{' '.join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])}`",
        f"Date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"Machine: {machine['cpu_model']}, {machine['physical_cores']} cores, {machine['memory_GiB']} GiB, "
        f"{machine['mpi_library']}; load average before {load_before}, after {_load()}",
        "",
        f"Screen: {args.replicas} replicas x {natoms} atoms (Cu EAM, `Cu_zhou.eam.alloy`), {args.duration_ps:g} ps each "
        f"at {args.temperature_K:g} K ({args.duration_ps - args.nve_ps:g} ps NVT + {args.nve_ps:g} ps NVE), "
        "timestep 1 fs, checks every 100 steps.",
        f"Serial cost per replica t1 = {t1:.2f} s ({t1_compute:.2f} s of it inside the replica), "
        f"measured on {args.baseline_replicas} replicas in one worker process"
        f"{', before and after the parallel runs (mean)' if args.bracket else ''}.",
        f"Ideal wall time on {args.workers} cores = {args.replicas} x t1 / {args.workers} = {ideal:.1f} s.",
        "",
        "Columns: parallel efficiency = ideal / wall. CPU share = CPU time the replicas' processes got / their wall "
        "time (1: a core each; less: other jobs shared the cores, which inflates every wall time). Cores busy = "
        "sum of replica wall times / (cores x wall): what start-up, scheduling and idle tails cost. CPU per replica "
        f"= replica CPU time / the serial run's ({cpu1:.2f} s): work added by running side by side. CPU-time "
        "efficiency = cores busy / CPU per replica: the efficiency on cores the screen has to itself. "
        f"Serial baseline CPU share: {', '.join(f'{s:.2f}' for s in baseline_shares)}.",
        "",
        "| mode | cores | wall (s) | parallel efficiency | CPU share | cores busy | CPU per replica (x serial) "
        "| CPU-time efficiency | survival |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['mode']} | {row['cores']} | {row['wall_s']:.1f} | {ideal / row['wall_s']:.3f} | "
            f"{row['cpu_share']:.2f} | {row['slot_use']:.3f} | {row['cpu_ratio']:.3f} | {row['cpu_efficiency']:.3f} | "
            f"{row['survival']:.2f} |"
        )
    args.record.parent.mkdir(parents=True, exist_ok=True)
    args.record.write_text("\n".join(lines) + "\n")
    print(f"recorded in {args.record}")


if __name__ == "__main__":
    sys.exit(main())
