#!/usr/bin/env python
"""Benchmark simkit's H5MD trajectory I/O and analyses; prints a Markdown report.

    .venv/bin/python benchmarks/h5md_io.py [--quick] > benchmarks/results/h5md_io.md

Measures
1. writing: frames/s for a 100k-atom frame (positions + images, default gzip 4 + shuffle,
   a commit after every frame), and the file size per frame;
2. reading + RDF: frames/s for g(r) (r_max 6 Å) of the same 100k-atom frames;
3. writer overhead on MD: a Cu EAM run (LAMMPS, this process) with a frame + thermo
   written every 100 steps: the time spent inside the writer relative to the MD time
   of the same run (robust on a busy machine), and CPU time against the same run in
   the same 100-step chunks without writing (runs alternate; medians);
4. MSD streaming: per-species MSD over all origins of a 10^4-atom trajectory, in blocks
   of atoms under a 1 GiB budget (frames/atoms configurable).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from ase.build import bulk

from simkit.bench.machine import summary_line


def bench_write_and_rdf(workdir: Path, frames: int) -> list[str]:
    from simkit.analysis.options import RdfOptions
    from simkit.analysis.rdf import analyse_rdf
    from simkit.io import H5mdWriter, open_trajectory

    atoms = bulk("Cu", "fcc", 3.615, cubic=True).repeat((30, 30, 28))  # 100,800 atoms
    rng = np.random.default_rng(1)
    cell = np.array(atoms.cell)
    path = workdir / "write.h5md"
    positions = [atoms.positions + rng.normal(0.0, 0.1, atoms.positions.shape) for _ in range(frames)]
    start, cpu = time.perf_counter(), time.process_time()
    with H5mdWriter(path) as writer:
        for k, frame in enumerate(positions):
            writer.append_frame(step=100 * k, time_ps=0.1 * k, positions_A=frame, cell_A=cell, numbers=atoms.numbers)
    elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - cpu
    size_mb = path.stat().st_size / 1e6
    raw_mb = len(atoms) * 3 * (8 + 4) / 1e6
    start, cpu = time.perf_counter(), time.process_time()
    with open_trajectory(path) as traj:
        result = analyse_rdf(traj, RdfOptions(r_max_A=6.0, bin_width_A=0.02), progress=False)
    rdf_elapsed, rdf_cpu = time.perf_counter() - start, time.process_time() - cpu
    return [
        f"| write {len(atoms):,}-atom frames (float64 positions + int32 images, gzip 4) | "
        f"{frames / elapsed:.2f} frames/s wall, {frames / elapsed_cpu:.2f} per CPU-s ({elapsed / frames * 1e3:.0f} ms/frame; "
        f"{raw_mb * frames / elapsed:.0f} MB/s raw) |",
        f"| file size per frame | {size_mb / frames:.2f} MB (raw {raw_mb:.2f} MB) |",
        f"| read + RDF (r_max 6 Å, 300 bins) of a {len(atoms):,}-atom frame | {result.frames / rdf_elapsed:.2f} frames/s "
        f"wall, {result.frames / rdf_cpu:.2f} per CPU-s ({rdf_elapsed / result.frames:.2f} s/frame) |",
    ]


def _md_run(workdir: Path, natoms_repeat: int, steps: int, write: bool, index: int) -> tuple[float, float, float]:
    """One MD run in 100-step chunks; returns (wall s, CPU s, wall s spent inside the writer)."""
    from simkit.io import THERMO_OBSERVABLES, H5mdWriter
    from simkit.lammps import dynamics
    from simkit.lammps.potentials import EamPotential
    from simkit.lammps.session import LammpsSession
    from simkit.lammps.snapshot import append_session
    from simkit.runtime.paths import lammps_potentials_dir

    atoms = bulk("Cu", "fcc", 3.615, cubic=True).repeat(natoms_repeat)
    potential = EamPotential(lammps_potentials_dir() / "Cu_zhou.eam.alloy")
    in_writer = [0.0]
    with LammpsSession() as session:
        session.create_system(atoms, ["Cu"])
        session.set_potential(potential)
        dynamics.set_timestep(session, 2.0)
        dynamics.create_velocities(session, 600.0, 5)
        dynamics.add_nvt(session, "nvt", 600.0, 600.0, 100.0)
        session.command("run 0 post no")
        writer = H5mdWriter(workdir / f"md_{index}.h5md", observables=THERMO_OBSERVABLES.values()) if write else None

        def callback(thermo):
            if writer is not None:
                begin = time.perf_counter()
                append_session(writer, session, thermo=thermo)
                in_writer[0] += time.perf_counter() - begin

        start, cpu = time.perf_counter(), time.process_time()
        dynamics.run_steps(session, steps, chunk=100, on_chunk=callback)
        if writer is not None:
            begin = time.perf_counter()
            writer.close()
            in_writer[0] += time.perf_counter() - begin
        return time.perf_counter() - start, time.process_time() - cpu, in_writer[0]


def bench_md_overhead(workdir: Path, repeat: int, steps: int, repeats: int) -> list[str]:
    natoms = 4 * repeat**3
    plain, written = [], []
    _md_run(workdir, repeat, 200, False, -1)  # warm-up: page cache, LAMMPS start-up
    for index in range(repeats):
        plain.append(_md_run(workdir, repeat, steps, False, index))
        written.append(_md_run(workdir, repeat, steps, True, index))
    # On a shared machine wall times of separate runs scatter widely; the share of each
    # written run spent inside the writer does not depend on how busy the machine was.
    shares = [w / (total - w) * 100 for total, _, w in written]
    cpu_plain = statistics.median(c for _, c, _ in plain)
    cpu_written = statistics.median(c for _, c, _ in written)
    wall_plain = statistics.median(t for t, _, _ in plain)
    wall_written = statistics.median(t for t, _, _ in written)
    speed = natoms * steps / cpu_plain
    return [
        f"| MD, Cu EAM, {natoms:,} atoms, {steps} steps in 100-step chunks, 1 rank, without writer | wall "
        f"{wall_plain:.1f} s, CPU {cpu_plain:.1f} s (medians of {repeats}; {speed / 1e6:.2f} M atom-steps per CPU-s) |",
        f"| same, writing a frame + thermo every 100 steps ({steps // 100} frames) | wall {wall_written:.1f} s, "
        f"CPU {cpu_written:.1f} s |",
        f"| **writer overhead: time inside the writer / MD time of the same run** | **{statistics.median(shares):.2f} %** "
        f"(runs: {', '.join(f'{x:.2f} %' for x in shares)}) |",
        f"| writer overhead from separate runs' CPU time (noisier) | {(cpu_written - cpu_plain) / cpu_plain * 100:+.1f} % |",
    ]


def bench_msd(workdir: Path, natoms: int, frames: int) -> list[str]:
    from simkit.analysis.msd import analyse_msd, atoms_per_block
    from simkit.analysis.options import MsdOptions
    from simkit.io import H5mdWriter, open_trajectory

    rng = np.random.default_rng(2)
    side = 50.0
    species = ["Ge", "Sb", "Te", "Te", "Te"] * (natoms // 5)
    positions = rng.uniform(0.0, side, (natoms, 3))
    path = workdir / "msd.h5md"
    start = time.perf_counter()
    with H5mdWriter(path, observables=(), position_dtype="float32", compression_level=1) as writer:
        for k in range(frames):
            positions += rng.normal(0.0, 0.05, positions.shape)
            writer.append_frame(step=k, time_ps=0.01 * k, positions_A=positions, cell_A=np.eye(3) * side,
                                symbols=species)
    write_time = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    with open_trajectory(path) as traj:
        result = analyse_msd(traj, MsdOptions(memory_MiB=1024), progress=False)
    msd_time, msd_cpu = time.perf_counter() - start, time.process_time() - cpu
    block = atoms_per_block(frames, 1024)
    return [
        f"| write {frames:,} frames of {natoms:,} atoms (float32, gzip 1) | {write_time:.0f} s "
        f"({frames / write_time:.0f} frames/s; {path.stat().st_size / 1e9:.2f} GB) |",
        f"| MSD per species, all origins (FFT), {natoms:,} atoms x {frames:,} frames, 1 GiB budget | "
        f"wall {msd_time:.0f} s, CPU {msd_cpu:.0f} s ({-(-natoms // block)} blocks of <= {block} atoms; Te MSD at max lag "
        f"{result.msd_A2['Te'][-1]:.1f} Å²) |",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run, not a measurement)")
    parser.add_argument("--write-frames", type=int, default=20)
    parser.add_argument("--md-repeat", type=int, default=20, help="FCC cells per side of the MD cell (4 n^3 atoms)")
    parser.add_argument("--md-steps", type=int, default=1000)
    parser.add_argument("--md-repeats", type=int, default=3)
    parser.add_argument("--msd-atoms", type=int, default=10000)
    parser.add_argument("--msd-frames", type=int, default=10000)
    parser.add_argument("--workdir", type=Path, help="where the benchmark files go (default: a temporary folder)")
    parser.add_argument("--parts", default="write,md,msd", help="comma-separated subset of write,md,msd")
    args = parser.parse_args()
    if args.quick:
        args.write_frames, args.md_repeat, args.md_steps, args.md_repeats = 2, 6, 200, 1
        args.msd_atoms, args.msd_frames = 500, 200

    from simkit.runtime.mpi import preload_mpi_library

    preload_mpi_library()
    command = " ".join([".venv/bin/python", "benchmarks/h5md_io.py", *sys.argv[1:]])
    lines = [
        "# H5MD trajectory I/O and analysis benchmark",
        "",
        f"- command: `{command}`",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {summary_line()}",
        "",
        "| measurement | result |",
        "|---|---|",
    ]
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        workdir = Path(tmp)
        parts = set(args.parts.split(","))
        if "write" in parts:
            lines += bench_write_and_rdf(workdir, args.write_frames)
        if "md" in parts:
            lines += bench_md_overhead(workdir, args.md_repeat, args.md_steps, args.md_repeats)
        if "msd" in parts:
            lines += bench_msd(workdir, args.msd_atoms, args.msd_frames)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
