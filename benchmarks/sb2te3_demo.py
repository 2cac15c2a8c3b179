#!/usr/bin/env python
"""The record of a finished `make demo` (Sb2Te3): wall time by step and the numbers it measured; Markdown.

    time make demo
    .venv/bin/python benchmarks/sb2te3_demo.py runs/demo > benchmarks/results/sb2te3_demo.md

Reads only what the run wrote: ``demo_steps.json`` (wall time of each step as
it ran), the optimisers' ``best/`` records, ``05-validation/validation.json``,
the cycle's ``run_summary.json``, ``07-analysis/cycle/cycle_reading.json``,
the refine rounds' ``refine.json`` and the teacher audit of the cycle.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simkit.bench.machine import summary_line
from simkit.demo.steps import FOLDERS


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
    print(f"| **this invocation of simkit demo** | | **{steps.get('wall_s', float('nan')):.0f}** |")
    print(f"| **sum of the steps as they ran** | | **{sum(s['wall_s'] for s in steps.get('steps', [])):.0f}** |\n")
    for refine in sorted((out / FOLDERS["refine"]).glob("*/refine.json")):
        record = _load(refine)
        print(f"## Active learning of the {record['family'].upper()} student\n")
        for r in record["rounds"]:
            print(f"- round {r['round']}: disagreement of the student it started from "
                  f"{json.dumps(r['disagreement_meV_per_atom'])} (meV/atom); {r['frames_added']} frames added; "
                  f"refit validation loss {r.get('validation_loss')}")
        if "check" in record:
            print(f"- final student: {json.dumps(record['check'])}")
        print()
    audit = _load(out / FOLDERS["analysis"] / "teacher_audit" / "teacher_audit.json")
    if audit:
        print("## The cycle against the teacher\n")
        print(f"{'passed' if audit['passed'] else 'FAILED'}: {audit['frames']} frames, largest |E student - "
              f"E teacher| {audit['max_abs_difference_meV_per_atom']:.1f} meV/atom (tolerance "
              f"{audit['tolerance_meV_per_atom']:.0f}), first outside: {audit['first_outside']}\n")
    validation = _load(out / FOLDERS["validation"] / "validation.json")
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
                if result.get("status") == "unstable":
                    print(f"  - {name}: UNSTABLE ({' '.join(result['error'].split())[:120]})")
                    continue
                checks = result["checks"]
                peak, height = checks["first_peak_position_A"]["total"], checks["first_peak_height"]["total"]
                cn = checks.get("coordination_number", {}).get("Te-Sb", {})
                print(f"  - {name}: first peak {peak['reference']:.3f} / {peak['candidate']:.3f} Å, height "
                      f"{height['reference']:.2f} / {height['candidate']:.2f}, Sb around Te "
                      f"{cn.get('reference', float('nan')):.2f} / {cn.get('candidate', float('nan')):.2f} "
                      f"(teacher / student); {'pass' if result['passed'] else 'fail: ' + ', '.join(result['failed'])}")
        print()
    reading = _load(out / FOLDERS["analysis"] / "cycle" / "cycle_reading.json")
    cycle = _load(out / FOLDERS["cycle"] / "run_summary.json")
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
