"""Strong and weak scaling on this machine: two Si SNAPs and an ACE, through ``simkit bench scaling``.

Potentials: the linear and the quadratic Si SNAP of Zuo et al. 2020 (shipped
with LAMMPS) and an ACE: ``--ace PATH`` (e.g. the model written by ``simkit fit
inputs/fit_ace_si.yaml``), or by default a synthetic ACE with the same basis as
that fit (30 functions, orders 1-3, 5 Å cutoff; random coefficients, which time
like fitted ones, see :mod:`simkit.bench.synthetic`).

    .venv/bin/python benchmarks/scaling_si.py --ace runs/fit_ace_si/ace.yace \
        --record benchmarks/results/scaling_2core.md
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from simkit.bench.jobs import scaling_job
from simkit.bench.scaling import ScalingConfig
from simkit.bench.scaling_report import (
    COLUMNS,
    MACHINE_JSON,
    RELATIVE_PNG,
    SCALING_CSV,
    SCALING_PNG,
    read_csv,
    table,
)
from simkit.bench.synthetic import random_ace

REPO = Path(__file__).resolve().parents[1]
SHOWN = ("potential", "mode", "ranks", "natoms", "status", "atom_steps_per_s", "atom_steps_per_s_min",
         "atom_steps_per_s_max", "atom_steps_per_s_per_rank", "speedup", "parallel_efficiency", "relative_speed",
         "pair_s", "neigh_s", "comm_s", "output_s", "modify_s", "other_s", "loop_time_s")


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ace", type=Path, help=".yace to include (default: synthetic ACE of the fit's basis)")
    parser.add_argument("--ace-note", default="fitted", help="how the --ace model was made (goes into the record)")
    parser.add_argument("--output-dir", type=Path, default=REPO / "runs" / "bench-scaling-si")
    parser.add_argument("--atoms", type=int, default=1000, help="strong-scaling cell and weak-scaling atoms per rank")
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--record", type=Path, help="write the results as markdown here")
    args = parser.parse_args()

    out = args.output_dir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.ace is not None:
        ace, ace_name, ace_note = args.ace.resolve(), "ace", f"`{args.ace}` ({args.ace_note})"
    else:
        ace = random_ace(out / "synthetic-si.yace", ["Si"], functions_per_element=30)
        ace_name, ace_note = "ace-synthetic", "synthetic ACE, basis of inputs/fit_ace_si.yaml, random coefficients"
    config = ScalingConfig.model_validate({
        "output_dir": str(out),
        "seed": 1,
        "structure": {"bulk": {"element": "Si", "crystal": "diamond", "a_A": 5.431, "cubic": True}},
        "potentials": [
            {"name": "snap-linear", "potential": {"kind": "snap", "coeff": "lammps:Si_Zuo_JPCA2020.snapcoeff",
                                                  "param": "lammps:Si_Zuo_JPCA2020.snapparam"}},
            {"name": "snap-quadratic", "potential": {
                "kind": "snap", "coeff": "lammps:Si_Zuo_JPCA2020.quadratic.snapcoeff",
                "param": "lammps:Si_Zuo_JPCA2020.quadratic.snapparam"}},
            {"name": ace_name, "potential": {"kind": "ace", "yace": str(ace)}},
        ],
        "reference": "snap-linear",
        "strong": {"atoms": args.atoms, "ranks": args.ranks},
        "weak": {"atoms_per_rank": args.atoms, "ranks": args.ranks},
        "timing": {"steps": args.steps, "warmup_steps": 5, "repeats": args.repeats},
    })
    load_before = _load()
    result = scaling_job(config)
    print(table(result))
    if args.record:
        _record(args, result, read_csv(out / SCALING_CSV), ace_note, load_before)
    return 0


def _cell(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    return f"{number:.4g}" if not number.is_integer() or abs(number) >= 1e5 else f"{int(number)}"


def _record(args, result, rows, ace_note, load_before) -> None:
    machine = result.machine
    lines = [
        "# Strong and weak scaling on the 2-core development machine",
        "",
        f"Command: `{' '.join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])}`",
        f"Date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"Machine: {machine['cpu_model']}, {machine['physical_cores']} cores ({machine['available_cpus']} available), "
        f"{machine['memory_GiB']} GiB, {machine['mpi_library']}, LAMMPS {result.lammps_version}; "
        f"load average before {load_before}, after {_load()} (the machine is shared: other jobs raise the noise)",
        "",
        f"Cell: diamond Si; strong scaling on >= {args.atoms} atoms, weak scaling on >= {args.atoms} atoms per rank; "
        f"each point one `mpirun -np N simkit speed` job: 5 warm-up steps, then {args.repeats} x {args.steps} NVE "
        "steps (300 K start, 1 fs). atom-steps/s = median over repeats (wall clock; min and max beside it); "
        "efficiency = (R/n)/(R1/1); relative = R / R(snap-linear) at the same scan and ranks. Section times are "
        "LAMMPS's rank-averaged seconds for one timed run.",
        f"ACE: {ace_note}.",
        "",
        "| " + " | ".join(SHOWN) + " |",
        "|" + "---|" * len(SHOWN),
    ]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[key]) for key in SHOWN) + " |")
    failed = [row for row in rows if row["status"] != "ok"]
    for row in failed:
        lines.append(f"\nFailed: {row['potential']} {row['mode']} {row['ranks']} ranks: {row['reason']}")
    # The full table, plots and machine description go beside the record; per-point logs stay in the run.
    extras = args.record.with_suffix("")
    extras.mkdir(parents=True, exist_ok=True)
    out = args.output_dir.resolve()
    for name in (SCALING_CSV, MACHINE_JSON, SCALING_PNG, RELATIVE_PNG):
        if (out / name).is_file():
            shutil.copyfile(out / name, extras / name)
    lines += ["", f"All columns ({', '.join(COLUMNS)}), plots and machine description: `{extras.name}/`; "
              f"per-point configs and LAMMPS logs were in `{args.output_dir}`."]
    args.record.write_text("\n".join(lines) + "\n")
    print(f"recorded in {args.record}")


if __name__ == "__main__":
    sys.exit(main())
