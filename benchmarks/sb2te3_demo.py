#!/usr/bin/env python
"""The record of a finished `make demo` (Sb2Te3): wall time by step and the numbers it measured; Markdown.

    time make demo
    .venv/bin/python benchmarks/sb2te3_demo.py runs/demo > benchmarks/results/sb2te3_demo.md

Reads only what the run wrote: ``demo_steps.json`` (wall time of each step as
it ran), the optimisers' ``best/`` records, ``04-validation/validation.json``,
the cycle's ``run_summary.json`` and ``06-analysis/cycle/cycle_reading.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simkit.bench.machine import summary_line


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("demo_dir", type=Path)
    args = parser.parse_args()
    out = args.demo_dir
    steps = _load(out / "demo_steps.json")
    print("# `make demo` on the embedded default (Sb2Te3)\n")
    print(f"Command: `{' '.join(['.venv/bin/python', *sys.argv])}` after `time make demo`  \n"
          f"Machine: {summary_line()}\n")
    print("## Wall time by step\n\n| step | outcome | wall (s) |\n|---|---|---|")
    for step in steps.get("steps", []):
        print(f"| {step['step']} | {step['outcome']} | {step['wall_s']:.0f} |")
    print(f"| **total (simkit demo)** | | **{steps.get('wall_s', float('nan')):.0f}** |\n")
    validation = _load(out / "04-validation" / "validation.json")
    if validation:
        print("## Students against the teacher (held-out benchmark set; same MD protocols)\n")
        for student in validation["students"]:
            errors = student["errors"]
            per_phase = ", ".join(f"{k} {v['energy_rmse_meV_per_atom']:.1f} meV/atom / "
                                  f"{v['force_component_rmse_meV_per_A']:.0f} meV/Å"
                                  for k, v in errors["per_phase"].items())
            print(f"- **{student['family'].upper()}**: {per_phase}; relative speed "
                  f"{student['speed'].get('relative_speed', float('nan')):.1f}x the teacher")
            for name, result in student["structure"].items():
                checks = result["checks"]
                peak, height = checks["first_peak_position_A"]["total"], checks["first_peak_height"]["total"]
                cn = checks.get("coordination_number", {}).get("Te-Sb", {})
                print(f"  - {name}: first peak {peak['reference']:.3f} / {peak['candidate']:.3f} Å, height "
                      f"{height['reference']:.2f} / {height['candidate']:.2f}, Sb around Te "
                      f"{cn.get('reference', float('nan')):.2f} / {cn.get('candidate', float('nan')):.2f} "
                      f"(teacher / student); {'pass' if result['passed'] else 'fail: ' + ', '.join(result['failed'])}")
        print()
    reading = _load(out / "06-analysis" / "cycle" / "cycle_reading.json")
    cycle = _load(out / "05-device-cycle" / "run_summary.json")
    if reading:
        print("## The cycle\n")
        results = cycle.get("results", {})
        print(f"{results.get('natoms')} atoms ({results.get('frozen_atoms')} frozen), "
              f"{cycle.get('mpi', {}).get('ranks')} ranks, wall {cycle.get('wall_time_s', float('nan')):.0f} s.\n")
        print("```json\n" + json.dumps({k: reading[k] for k in ("amorphised_slabs", "amorphised_region_fraction",
                                                                "growth", "agreement") if k in reading},
                                       indent=1) + "\n```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
