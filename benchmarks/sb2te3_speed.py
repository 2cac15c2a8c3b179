#!/usr/bin/env python
"""Teacher and students on the same Sb2Te3 cell: LAMMPS atom-steps/s per core; prints a Markdown report.

    .venv/bin/python benchmarks/sb2te3_speed.py runs/demo > benchmarks/results/sb2te3_speed.md

One process (serial LAMMPS), NVE from 300 K, rocksalt-like Sb2Te3 (the demo's
crystal, a = 6.215 Å), 4 x 4 x 4 conventional cells (1,708 atoms): the teacher
(XPOT-Sb2Te3.yace) and the best SNAP and ACE of a finished demo run
(``02-optimise-snap/best``, ``03-optimise-ace/best``), each timed with
``simkit.screening.speed.measure_speed`` (median of the repeats, wall clock),
the three alternated so machine load affects them alike.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from simkit.bench.machine import summary_line
from simkit.config.loader import read_yaml, validate_config
from simkit.config.schema import Schema, resolve_path
from simkit.lammps.potentials.specs import AceSpec, PotentialSpec
from simkit.screening.speed import SpeedSettings, measure_speed
from simkit.structures.spec import StructureSpec, load_structure


class _Holder(Schema):
    potential: PotentialSpec


def _student(best: Path):
    spec = validate_config(_Holder, {"potential": read_yaml(best / "potential.yaml")}, source=str(best),
                           base_dir=best)
    return spec.potential.build()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("demo_dir", type=Path)
    parser.add_argument("--atoms", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cell = load_structure(StructureSpec(builtin={"name": "Sb2Te3-rocksalt", "a_A": 6.215}, repeat=(4, 4, 4)),
                          np.random.default_rng(1))
    potentials = {"teacher (XPOT-Sb2Te3 ACE)": AceSpec(kind="ace", yace=resolve_path("simkit:XPOT-Sb2Te3.yace", ".")).build()}
    for family in ("snap", "ace"):
        best = args.demo_dir / f"0{2 if family == 'snap' else 3}-optimise-{family}" / "best"
        if (best / "potential.yaml").is_file():
            potentials[f"best {family.upper()} student"] = _student(best)
    settings = SpeedSettings(sizes_atoms=[args.atoms], steps=50, warmup_steps=10, repeats=3, timestep_fs=2.0)
    speeds: dict[str, list[float]] = {name: [] for name in potentials}
    natoms = {}
    for _ in range(args.rounds):
        for name, potential in potentials.items():
            point = measure_speed(potential, settings, structure=cell).points[0]
            speeds[name].append(point.atom_steps_per_s_per_core["median"])
            natoms[name] = point.natoms
    teacher = np.median(next(iter(speeds.values())))
    print("# Sb2Te3: teacher and students, LAMMPS speed on the same cell\n")
    print(f"Command: `{' '.join(['.venv/bin/python', *sys.argv])}`  \nMachine: {summary_line()}  \n"
          f"Cell: rocksalt-like Sb2Te3, {next(iter(natoms.values()))} atoms, 1 rank, NVE from 300 K, 2 fs; "
          f"{settings.repeats} repeats of {settings.steps} steps per round, {args.rounds} rounds alternated\n")
    print("| potential | atom-steps/s per core (median of rounds) | rounds | speed-up over the teacher |")
    print("|---|---|---|---|")
    for name, values in speeds.items():
        median = float(np.median(values))
        print(f"| {name} | {median:,.0f} | {', '.join(f'{v:,.0f}' for v in values)} | {median / teacher:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
