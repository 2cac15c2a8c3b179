#!/usr/bin/env python
"""Cost of simkit md's on-the-fly observables and checkpoints on a device cell; prints a Markdown report.

    .venv/bin/python benchmarks/md_observables.py [--cells 16 16 24] [--steps 600] > benchmarks/results/md_observables.md

One process (serial LAMMPS), a Cu FCC device (Mishin EAM) with a frozen
slab, a heater and a cell region, NVE at ~300 K, run in chunks of
``--every`` steps as ``simkit md`` does. Variants, alternated and repeated:

* ``plain``: thermo line of the session only;
* ``regions``: + per-region atoms, temperature and potential energy
  (``reduce/region``, ``temp/region``, ``pe/atom``) on every thermo line;
* ``regions+crystallinity``: + q6 solid bonds (``orientorder/atom`` and
  ``coord/atom orientorder``) reduced overall and per region;
* ``all+profile``: + a z-profile (``chunk/atom`` + ``reduce/chunk``) read every chunk.

CPU time (``time.process_time``) per MD step, best of the repeats, so other
load on the machine distorts little. Then the restart file: write time and
bytes per atom (to size checkpoints of a production cell).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402 - after pinning threads
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

from simkit.analysis.steinhardt import BondOrderCriterion  # noqa: E402
from simkit.lammps import observables, regions  # noqa: E402
from simkit.lammps.checkpoint import write_checkpoint  # noqa: E402
from simkit.lammps.potentials.eam import EamPotential  # noqa: E402
from simkit.lammps.session import LammpsSession  # noqa: E402
from simkit.runtime.paths import lammps_potentials_dir  # noqa: E402
from simkit.structures.device import DeviceSpec, build_device  # noqa: E402
from simkit.structures.spec import BulkSpec, StructureSpec  # noqa: E402

VARIANTS = ("plain", "regions", "regions+crystallinity", "all+profile")


def _device(cells: tuple[int, int, int]):
    a = 3.615
    spec = DeviceSpec(
        crystal=StructureSpec(bulk=BulkSpec(element="Cu", crystal="fcc", a_A=a, cubic=True)),
        size_nm=tuple(c * a / 10 for c in cells), frozen_slab_nm=1.0, heater_nm=1.5,
    )
    return build_device(spec)


def _session(device, potential, variant: str) -> tuple[LammpsSession, observables.ZProfile | None]:
    session = LammpsSession()
    session.create_system(device.atoms, ("Cu",))
    session.set_potential(potential)
    regions.define_regions(session, device.regions)
    regions.split_frozen(session, device.regions)
    profile = None
    if variant != "plain":
        blocks = device.regions
        criterion = BondOrderCriterion(cutoff_A=3.05, neighbours=None) if "crystallinity" in variant or "all" in variant else None
        watched = observables.define_observables(session, blocks, criterion)
        observables.install_thermo(session, watched)
        if variant == "all+profile":
            lz = device.atoms.cell[2, 2]
            profile = observables.ZProfile(session, max(1, round(lz / 5.0)), crystalline=True)
    session.command(f"velocity {regions.DYNAMIC_GROUP} create 300.0 4928 mom yes rot no dist gaussian")
    session.command("timestep 0.002")
    session.command(f"fix nve {regions.DYNAMIC_GROUP} nve")
    session.command("run 0 post no")
    return session, profile


def _cpu_per_step(session, profile, steps: int, every: int) -> float:
    start = time.process_time()
    done = 0
    while done < steps:
        session.command(f"run {every} pre {'yes' if done == 0 else 'no'} post no")
        session.thermo()
        if profile is not None:
            profile.read()
        done += every
    return (time.process_time() - start) / steps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs=3, default=(16, 16, 24), help="FCC cells along x, y, z")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=100, help="steps per chunk (thermo_every)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    device = _device(tuple(args.cells))
    natoms = len(device.atoms)
    potential = EamPotential(lammps_potentials_dir() / "Cu_mishin1.eam.alloy")
    best = {v: float("inf") for v in VARIANTS}
    for _ in range(args.repeats):
        for variant in VARIANTS:
            session, profile = _session(device, potential, variant)
            try:
                best[variant] = min(best[variant], _cpu_per_step(session, profile, args.steps, args.every))
            finally:
                session.close()

    session, _ = _session(device, potential, "plain")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.restart"
        start = time.perf_counter()
        write_checkpoint(session, path)
        write_s = time.perf_counter() - start
        size = path.stat().st_size
    session.close()

    command = "python benchmarks/md_observables.py " + " ".join(sys.argv[1:])
    print("# Cost of on-the-fly observables and checkpoints (simkit md)\n")
    print(f"- command: `{command.strip()}`")
    print(f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}")
    print(f"- machine: {platform.node()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
          "(shared; CPU time is reported)")
    print(f"- system: Cu FCC device {list(args.cells)} cells, {natoms} atoms, frozen slab + heater + cell regions, "
          f"Mishin EAM (cutoff 5.5 Å), serial, NVE, chunks of {args.every} steps, best of {args.repeats}\n")
    print("| variant | CPU ms/step | atom-steps/s (CPU) | overhead vs plain |")
    print("|---|---|---|---|")
    for variant in VARIANTS:
        ms = 1e3 * best[variant]
        overhead = best[variant] / best["plain"] - 1.0
        print(f"| {variant} | {ms:.2f} | {natoms / best[variant]:,.0f} | {100 * overhead:+.1f} % |")
    print(f"\nRestart file: {size / natoms:.1f} bytes/atom ({size / 1e6:.2f} MB), written in {write_s:.3f} s wall; "
          f"a 532,980-atom cell needs about {size / natoms * 532980 / 1e6:.0f} MB per checkpoint "
          "(simkit keeps the last two).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
