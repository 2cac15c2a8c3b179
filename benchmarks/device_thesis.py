#!/usr/bin/env python
"""The thesis-size Sb2Te3 device under ``mpirun -np 2 simkit md``: build, every stage kind, frames,
checkpoint, stop and resume; prints (or records) a Markdown report.

    .venv/bin/python benchmarks/device_thesis.py --record benchmarks/results/device_thesis.md

The protocol is ``inputs/md_device_sb2te3_thesis.yaml`` with each MD stage cut to ``--steps``
steps (the heat pulses keep the thesis's power: energy scaled by the fraction of the pulse
run). Two runs of the same bounded protocol:

1. uninterrupted;
2. stopped with ``--stop-after-steps`` inside the anneal (Nose-Hoover, deterministic) and
   continued with ``--resume``.

Recorded: atom count, set-up time (structure, LAMMPS, potential), seconds per step of each
stage kind (wall time of the segment over its steps, frames and checkpoints included, and
without them), peak memory of each rank, seconds per frame written and bytes per frame,
restart file size and write time, and the thermo rows of run 2 after the resume against run 1.
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
import pandas as pd
import yaml

from simkit.bench.machine import summary_line

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def bounded_protocol(config: Path, out: Path, steps: int) -> dict:
    """The config's protocol with every MD stage cut to ``steps`` steps (pulses at the same power)."""
    protocol = yaml.safe_load(config.read_text())
    protocol["output_dir"] = str(out)
    timestep = float(protocol["timestep_fs"])
    every = max(1, steps // 2)
    protocol.update(thermo_every=every, trajectory_every=steps, checkpoint_every=every)
    protocol["profiles"] = {**protocol.get("profiles", {}), "every": every}
    for stage in protocol["stages"]:
        if stage["stage"] == "velocity":
            continue
        full_ps = stage.pop("duration_ps", None) or 1e3 * stage.pop("duration_ns")
        stage["duration_ps"] = steps * timestep / 1e3
        if "energy_pJ" in stage:
            stage["energy_pJ"] *= stage["duration_ps"] / full_ps
    return protocol


def run_md(*args: str, ranks: int) -> tuple[float, subprocess.CompletedProcess]:
    command = [str(BIN / "mpirun"), "-np", str(ranks), str(BIN / "simkit"), "md", *args]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return time.perf_counter() - started, result


def report(args, protocol, first: dict, wall: dict, out: dict[str, Path], comparison: dict) -> list[str]:
    results = first["results"]
    segments = [s for s in results["segments"] if s["kind"] != "velocity"]
    trajectory = out["whole"] / "trajectory.h5md"
    frames = sum(s["timing"]["frames_written"] for s in results["segments"]) + 1  # + the initial frame
    restarts = sorted((out["whole"] / "checkpoints").glob("*.restart"))
    lines = [
        "# The thesis-size Sb2Te3 device on 2 ranks",
        "",
        f"Command: `.venv/bin/python benchmarks/device_thesis.py --steps {args.steps} --ranks {args.ranks}"
        f"{' --record ' + str(args.record) if args.record else ''}`  ",
        f"Date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}  ",
        f"Machine: {summary_line()}  ",
        f"Config: `{args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config}`, "
        f"every MD stage cut to {args.steps} steps (pulses at the thesis's power); thermo, profiles and "
        f"checkpoints every {protocol['thermo_every']} steps, a frame every {protocol['trajectory_every']}.",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| atoms | {results['natoms']:,} ({results['frozen_atoms']:,} frozen) |",
        f"| box (nm) | {' x '.join(f'{v:.2f}' for v in results['device']['size_nm'])} |",
        f"| set-up (build the cell, start LAMMPS, potential, regions; rank 0) | {results['setup_s']:.1f} s |",
        f"| whole command, uninterrupted run (mpirun start to exit) | {wall['whole']:.1f} s |",
        f"| peak memory per rank | {', '.join(f'{m:,.0f}' for m in results['peak_memory_MiB_per_rank'])} MiB |",
        f"| frame written (gather to rank 0, gzip 4, commit) | {_mean_frame_s(results['segments']):.2f} s per frame |",
        f"| trajectory file | {trajectory.stat().st_size / 1e6:.1f} MB for {frames} frames "
        f"({trajectory.stat().st_size / frames / 1e6:.1f} MB per frame, positions float64 + crystalline flag) |",
        f"| restart file | {restarts[-1].stat().st_size / 1e6:.1f} MB, "
        f"{results['checkpoints']['s_per_checkpoint']:.2f} s to write |",
        "",
        "Seconds per step by stage kind (segment wall time / steps; the segment's frames and checkpoints "
        "included, then taken out):",
        "",
        "| stage | kind | steps | s/step | s/step without frames and checkpoints | atom-steps/s |",
        "|---|---|---|---|---|---|",
    ]
    per_checkpoint = results["checkpoints"]["s_per_checkpoint"] or 0.0
    for s in segments:
        t = s["timing"]
        checkpoints = t["steps_this_attempt"] // protocol["checkpoint_every"]
        bare = (t["wall_s"] - t["frames_written"] * (t["s_per_frame"] or 0.0) - checkpoints * per_checkpoint)
        bare /= t["steps_this_attempt"]
        lines.append(f"| {s['label']} | {s['stage']} | {t['steps_this_attempt']} | {t['s_per_step']:.3f} | "
                     f"{bare:.3f} | {results['natoms'] / bare:,.0f} |")
    lines += [
        "",
        f"Stop and resume: run 2 stopped at step {comparison['stopped_at']} (inside `set`, the anneal) with "
        f"`--stop-after-steps`, status `{comparison['stopped_status']}`; `--resume` took "
        f"{comparison['resume_wall_s']:.1f} s (restart read included) and finished with status "
        f"`{comparison['final_status']}`.",
        f"Thermo rows after the stop, run 2 against run 1 ({comparison['rows']} rows at steps "
        f"{comparison['steps']}): largest absolute difference in the total energy "
        f"{comparison['etotal_diff_eV']:.3g} eV, in any column {comparison['max_diff']:.3g}; "
        f"{'bitwise equal' if comparison['bitwise'] else 'not bitwise equal'}.",
        "Heat delivered by the pulses: "
        + ", ".join(f"{h['delivered_eV']:.1f} of {h['requested_eV']:.1f} eV" for h in results["heat"]) + ".",
    ]
    return lines


def _mean_frame_s(segments: list[dict]) -> float:
    timed = [(s["timing"]["frames_written"], s["timing"]["s_per_frame"]) for s in segments
             if s["timing"]["frames_written"]]
    return sum(n * t for n, t in timed) / sum(n for n, _ in timed)


def compare_after(whole: Path, resumed: Path, after_step: int) -> dict:
    a, b = pd.read_csv(whole / "thermo.csv"), pd.read_csv(resumed / "thermo.csv")
    if list(a["step"]) != list(b["step"]):
        sys.exit("the resumed run's thermo rows are not at the uninterrupted run's steps")
    rows = a["step"] > after_step
    numeric = [c for c in a.columns if c not in ("step", "stage") and np.issubdtype(a[c].dtype, np.number)]
    diff = (a.loc[rows, numeric] - b.loc[rows, numeric]).abs()
    return {"rows": int(rows.sum()), "steps": ", ".join(str(s) for s in a.loc[rows, "step"]),
            "etotal_diff_eV": float(diff["total_energy_eV"].max()),
            "max_diff": float(diff.to_numpy().max()), "bitwise": bool((diff.to_numpy() == 0).all())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "inputs" / "md_device_sb2te3_thesis.yaml")
    parser.add_argument("--steps", type=int, default=20, help="MD steps per stage (even)")
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--record", type=Path, help="write the report here")
    args = parser.parse_args()
    args.config = args.config.resolve()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.workdir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        out = {"whole": work / "whole", "resumed": work / "resumed"}
        protocol = {}
        for name, folder in out.items():
            protocol = bounded_protocol(args.config, folder, args.steps)
            (work / f"{name}.yaml").write_text(yaml.safe_dump(protocol, sort_keys=False))
        wall = {}
        wall["whole"], _ = run_md(str(work / "whole.yaml"), "--overwrite", ranks=args.ranks)
        # velocity, then equilibrate, reset, reset-cool, set: stop half-way through set, on a step where the
        # uninterrupted run writes a checkpoint too (so the resumed run can repeat it bit for bit).
        stop_at = 3 * args.steps + args.steps // 2
        run_md(str(work / "resumed.yaml"), "--overwrite", "--stop-after-steps", str(stop_at), ranks=args.ranks)
        stopped = json.loads((out["resumed"] / "run_summary.json").read_text())
        wall["resume"], _ = run_md(str(work / "resumed.yaml"), "--resume", ranks=args.ranks)
        finished = json.loads((out["resumed"] / "run_summary.json").read_text())
        comparison = compare_after(out["whole"], out["resumed"], stopped["results"]["stopped_at_step"])
        comparison.update(stopped_at=stopped["results"]["stopped_at_step"], stopped_status=stopped["status"],
                          final_status=finished["status"], resume_wall_s=wall["resume"])
        first = json.loads((out["whole"] / "run_summary.json").read_text())
        text = "\n".join(report(args, protocol, first, wall, out, comparison)) + "\n"
    print(text)
    if args.record:
        args.record.write_text(text)


if __name__ == "__main__":
    main()
