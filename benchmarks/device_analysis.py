#!/usr/bin/env python
"""Analyses of thesis-size frames (~437,000 atoms), serial and under ``mpirun -np 2``; prints (or records)
a Markdown report.

    .venv/bin/python benchmarks/device_thesis.py --workdir /tmp/device      # makes the frames
    .venv/bin/python benchmarks/device_analysis.py /tmp/device/whole/trajectory.h5md \\
        --record benchmarks/results/device_analysis.md

Each analysis is one ``simkit analyse FILE NAME`` command (start-up and file reading
included), run on 1 rank and on 2 ranks (frames split in blocks); the outputs of the two
must be bitwise equal. Per analysis: seconds per frame per rank (wall x ranks / frames),
the peak memory of the largest process, and what 20,000 frames (the thesis's 20 ns SET at
one frame per ps) cost in core-hours. The SOAP settings are then compared on one frame:
the default (n_max 8, l_max 6) against cheaper ones, as agreement of the crystal-like label.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from simkit.bench.machine import summary_line

BIN = Path(sys.executable).parent
THESIS_FRAMES = 20_000
ANALYSES = {
    "crystallinity (SOAP k, thesis threshold 0.57)": ("crystallinity", ["--slabs", "40"]),  # + the reference
    "crystallinity (bond order, q4 solid bonds)": (
        "crystallinity", ["--method", "bond_order", "--q-degree", "4", "--q-neighbours", "0", "--q-cutoff-A", "3.6",
                          "--min-solid-bonds", "3", "--slabs", "40"]),
    "rdf (r_max 8 Å)": ("rdf", ["--r-max-A", "8"]),
    "profiles (1 nm slabs)": ("profiles", ["--bins", "40"]),
    "grains (bond order)": ("grains", ["--q-degree", "4", "--q-neighbours", "0", "--q-cutoff-A", "3.6",
                                       "--min-solid-bonds", "3"]),
}
_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:]).returncode
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0, code)
"""


def measure(command: list[str]) -> tuple[float, float]:
    """(wall s, peak RSS MiB of the largest process) of ``command``."""
    result = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True)
    wall, peak, code = result.stdout.split()[-3:]
    if int(code) != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return float(wall), float(peak)


def same_outputs(a: Path, b: Path) -> bool:
    with h5py.File(a) as left, h5py.File(b) as right:
        names: list[str] = []
        left.visit(names.append)
        for key in names:
            if isinstance(left[key], h5py.Dataset) and not np.array_equal(left[key][()], right[key][()],
                                                                           equal_nan=True):
                return False
    return True


def reference_crystal(path: Path) -> Path:
    """The demo's reference: 2 x 2 x 3 cubic cells of rocksalt-like Sb2Te3 (80 atoms, random vacancies)."""
    from simkit.structures.spec import StructureSpec, load_structure

    spec = StructureSpec.model_validate({"builtin": {"name": "Sb2Te3-rocksalt", "a_A": 6.215}, "repeat": [2, 2, 3]})
    load_structure(spec, np.random.default_rng(2026)).write(path)
    return path


def soap_settings(path: Path, frame: int, reference: Path, default_scores: Path) -> list[str]:
    """Crystal-like labels of one frame under cheaper SOAP settings, against the default run's
    (read from its output, so the default is not computed again)."""
    from simkit.analysis.crystallinity import CrystallinityModel
    from simkit.analysis.options import CrystallinityOptions
    from simkit.io import open_trajectory

    with h5py.File(default_scores) as handle:
        default = handle["per_atom_score"][-1] > CrystallinityOptions.model_fields["threshold"].default
    lines = ["| n_max | l_max | features | s per frame (1 rank) | crystal-like fraction | same label as default |",
             "|---|---|---|---|---|---|",
             f"| 8 | 6 | 952 | (the table above) | {default.mean():.4f} | 1 |"]
    with open_trajectory(path) as trajectory:
        snapshot = trajectory.frame(frame)
        for n_max, l_max in ((6, 4), (4, 4)):
            options = CrystallinityOptions(reference_file=reference, soap_n_max=n_max, soap_l_max=l_max)
            model = CrystallinityModel(options, trajectory.numbers)
            start = time.perf_counter()
            _, crystal = model.per_atom(snapshot.positions_A, snapshot.cell_A, snapshot.pbc, snapshot.numbers)
            elapsed = time.perf_counter() - start
            lines.append(f"| {n_max} | {l_max} | {model.descriptor.size} | {elapsed:.1f} | {crystal.mean():.4f} | "
                         f"{np.mean(crystal == default):.4f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trajectory", type=Path)
    parser.add_argument("--frames", type=int, default=2, help="analyse the last N frames (even, to split evenly)")
    parser.add_argument("--only", nargs="*", help="analyses to run (keys of the table, substrings)")
    parser.add_argument("--no-soap-settings", action="store_true")
    parser.add_argument("--record", type=Path)
    args = parser.parse_args()
    path = args.trajectory.resolve()
    with h5py.File(path) as handle:
        natoms = handle["particles/trajectory/position/value"].shape[1]
        total = handle["particles/trajectory/position/value"].shape[0]
    select = ["--start", str(total - args.frames), "--no-progress"]
    lines = [
        "# Analyses of thesis-size frames, serial and on 2 ranks",
        "",
        f"Command: `.venv/bin/python benchmarks/device_analysis.py TRAJECTORY --frames {args.frames}"
        f"{' --record ' + str(args.record) if args.record else ''}` (TRAJECTORY: the uninterrupted run of "
        "`benchmarks/device_thesis.py --workdir DIR`)  ",
        f"Date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}  ",
        f"Machine: {summary_line()}  ",
        f"Frames: the last {args.frames} of {total}, {natoms:,} atoms each; each row is one `simkit analyse` "
        "command (Python start-up and reading included); 2 ranks split the frames in blocks.",
        "",
        f"| analysis | s per frame, 1 rank | s per frame per rank, 2 ranks | peak memory (MiB), 1 rank / 2 ranks | "
        f"2-rank outputs bitwise equal | core-hours for {THESIS_FRAMES:,} frames |",
        "|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as scratch:
        reference = reference_crystal(Path(scratch) / "Sb2Te3-80.extxyz")
        for number, (label, (name, extra)) in enumerate(ANALYSES.items()):
            if args.only and not any(key in label for key in args.only):
                continue
            if name == "crystallinity" and "--method" not in extra:
                extra = ["--reference-file", str(reference), *extra]
            outputs, walls, peaks = {}, {}, {}
            for ranks in (1, 2):
                out = Path(scratch) / f"{number}-{name}-{ranks}"
                command = [str(BIN / "simkit"), "analyse", str(path), name, "-o", str(out), *select, *extra]
                if ranks > 1:
                    command = [str(BIN / "mpirun"), "-np", str(ranks), *command]
                walls[ranks], peaks[ranks] = measure(command)
                outputs[ranks] = out / f"{name}.h5"
            per_frame = {r: walls[r] * r / args.frames for r in walls}
            equal = same_outputs(outputs[1], outputs[2])
            lines.append(f"| {label} | {per_frame[1]:.1f} | {per_frame[2]:.1f} | {peaks[1]:,.0f} / {peaks[2]:,.0f} | "
                         f"{'yes' if equal else 'NO'} | {per_frame[2] * THESIS_FRAMES / 3600:,.0f} |")
            print(lines[-1], flush=True)
        if not args.no_soap_settings:
            lines += ["", "SOAP settings on one frame (the last), against the default n_max 8, l_max 6 "
                      "(cutoff 5 Å, σ 0.4 Å, ζ 16, neighbour-averaged, threshold 0.57):", ""]
            soap_output = Path(scratch) / "0-crystallinity-1" / "crystallinity.h5"
            if soap_output.is_file():
                lines += soap_settings(path, total - 1, reference, soap_output)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        args.record.write_text(text)


if __name__ == "__main__":
    main()
