"""Per-call cost of simkit's ASE calculator against a bare LAMMPS ``run 0`` of the same cell.

    .venv/bin/python benchmarks/ase_calculator.py [--output benchmarks/results/ase_calculator.md]

For EAM (Cu, ``Cu_zhou.eam.alloy``) and SNAP (Si, ``Si_Zuo_JPCA2020``), each
on a small (64-atom) and a medium (~2,000-atom) cubic cell, one core:

* bare ``run 0``: a plain ``lammps.lammps()`` instance read from ASE's data
  file, nothing but ``run 0 post no`` repeated on unchanged atoms (the floor);
* bare loop: the same instance driven the way a hand-written loop would,
  scatter new positions, ``run 0``, read energy, pressure and forces;
* calculator, positions: ``atoms.get_forces()`` through ``SimkitCalculator``
  after the atoms moved (new positions every call; energy, forces and stress
  all come from that call);
* calculator, positions + cell: the same with a new (orthogonal) cell every call too;
* calculator, tilted cell: the same with a sheared cell, which needs a triclinic
  LAMMPS box (the calculator switches to one at the first tilted cell).

The five take turns call by call (after two warm-up rounds), so a change of the
machine's load hits them alike; times are medians per call over ``--calls``
rounds, wall and CPU (``time.process_time``), and the calculator's extra cost
is the median of its per-round difference to the bare ``run 0``. BLAS runs on
one thread (set below, before numpy loads).
"""

from __future__ import annotations

import os

# One BLAS thread: a second one only contends for the core LAMMPS runs on.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from ase.build import bulk  # noqa: E402
from ase.io import write  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simkit.bench.machine import summary_line  # noqa: E402
from simkit.lammps.ase_calculator import SimkitCalculator  # noqa: E402
from simkit.lammps.install import lammps_module  # noqa: E402
from simkit.lammps.potentials import EamPotential, SnapPotential  # noqa: E402
from simkit.runtime.paths import lammps_potentials_dir  # noqa: E402

# Table columns, in order (keys of measure()'s result).
TIMED = ("bare run 0", "bare loop", "calculator, positions", "calculator, positions + cell", "calculator, tilted cell")


def cases():
    d = lammps_potentials_dir()
    snap_files = (d / "Si_Zuo_JPCA2020.snapcoeff", d / "Si_Zuo_JPCA2020.snapparam")
    return {
        "EAM Cu": (EamPotential(d / "Cu_zhou.eam.alloy"), "Cu",
                   ["pair_style eam/alloy", f"pair_coeff * * {d}/Cu_zhou.eam.alloy Cu"],
                   {"small": bulk("Cu", "fcc", 3.615, cubic=True).repeat((4, 4, 1)),
                    "medium": bulk("Cu", "fcc", 3.615, cubic=True).repeat(8)}),
        "SNAP Si": (SnapPotential(*snap_files), "Si",
                    ["pair_style snap", f"pair_coeff * * {snap_files[0]} {snap_files[1]} Si"],
                    {"small": bulk("Si", "diamond", 5.43, cubic=True).repeat(2),
                     "medium": bulk("Si", "diamond", 5.43, cubic=True).repeat((6, 6, 7))}),
    }


def bare_instance(atoms, element: str, pair_lines, workdir: Path):
    data = workdir / "cell.data"
    write(data, atoms, format="lammps-data", specorder=[element], masses=True, units="metal", atom_style="atomic")
    lmp = lammps_module().lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
    for line in ["units metal", "atom_style atomic", "atom_modify map array", "boundary p p p", f"read_data {data}",
                 *pair_lines, "thermo_style custom step pe pxx pyy pzz pyz pxz pxy", "run 0 post no"]:
        lmp.command(line)
    return lmp


def measure(potential, element, pair_lines, atoms, calls: int, workdir: Path) -> dict:
    """Per-call (wall s, CPU s) medians of each way in TIMED, plus the first call's wall time.

    The ways take turns call by call, so a change of the machine's load hits all
    of them alike; the calculator's extra CPU time is the median of per-round differences.
    """
    rng = np.random.default_rng(7)
    # Fresh positions every call: small moves, as an optimiser or MD integrator makes them.
    moved = [atoms.positions + rng.normal(0.0, 0.01, atoms.positions.shape) for _ in range(calls + 2)]
    strains = [np.eye(3) + 1e-3 * np.diag(rng.uniform(-1, 1, 3)) for _ in range(calls + 2)]
    shear = np.array([[0.0, 2e-3, 0.0], [0.0, 0.0, 1e-3], [0.0, 0.0, 0.0]])
    cell = atoms.cell.array.copy()
    lmp = bare_instance(atoms, element, pair_lines, workdir)
    calc, tilted_calc = SimkitCalculator(potential), SimkitCalculator(potential)
    work, tilted_work = atoms.copy(), atoms.copy()
    work.calc, tilted_work.calc = calc, tilted_calc
    try:
        start = time.perf_counter()
        work.get_forces()
        first_s = time.perf_counter() - start

        def bare_loop(k):
            # a cubic cell is its own LAMMPS frame: no rotation needed here
            lmp.scatter_atoms("x", 1, 3, np.ctypeslib.as_ctypes(np.ascontiguousarray(moved[k]).ravel()))
            lmp.command("run 0 post no")
            _ = lmp.get_thermo("pe"), [lmp.get_thermo(name) for name in ("pxx", "pyy", "pzz", "pyz", "pxz", "pxy")]
            _ = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3)).reshape(-1, 3).copy()

        def positions(k):
            work.positions = moved[k] @ work.cell.array @ np.linalg.inv(cell)  # same fractional moves
            work.get_forces()

        def positions_and_cell(k):
            work.set_cell(cell @ strains[k], scale_atoms=False)
            work.positions = moved[k] @ strains[k]
            work.get_forces()

        def tilted(k):
            tilted_work.set_cell(cell @ (strains[k] + shear), scale_atoms=False)
            tilted_work.positions = moved[k] @ (strains[k] + shear)
            tilted_work.get_forces()

        ways = dict(zip(TIMED, (lambda k: lmp.command("run 0 post no"), bare_loop, positions, positions_and_cell,
                                tilted)))
        times: dict[str, list[tuple[float, float]]] = {key: [] for key in TIMED}
        for k in range(-2, calls):  # two warm-up rounds
            for key, way in ways.items():
                wall, cpu = time.perf_counter(), time.process_time()
                way(k)
                if k >= 0:
                    times[key].append((time.perf_counter() - wall, time.process_time() - cpu))
        assert (calc.rebuilds, tilted_calc.rebuilds) == (1, 1), "a calculator rebuilt: not an in-place measurement"
    finally:
        lmp.close()
        calc.close()
        tilted_calc.close()
    out = {key: tuple(statistics.median(column) for column in zip(*rows)) for key, rows in times.items()}
    out["extra CPU"] = statistics.median(
        c[1] - b[1] for c, b in zip(times["calculator, positions"], times["bare run 0"]))
    out["first call"] = first_s
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    parser.add_argument("--calls", type=int, default=40, help="timed calls per measurement (medium cells: a quarter)")
    args = parser.parse_args()

    import lammps

    lines = [
        "# ASE calculator: seconds per call against a bare LAMMPS `run 0`",
        "",
        f"- command: `{' '.join(['.venv/bin/python', 'benchmarks/ase_calculator.py', *sys.argv[1:]])}`",
        f"- date: {datetime.now(timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {summary_line()}; LAMMPS wheel {lammps.__version__}; one rank, one BLAS thread",
        f"- each time: median per call over {args.calls} rounds ({max(4, args.calls // 4)} for the medium cells), "
        "wall / CPU in ms; the ways take turns call by call; calculator calls get new positions (and cell) every "
        "call, so each is a full evaluation of energy, forces and stress",
        "",
        "| potential | atoms | bare `run 0` | bare loop (scatter x, run 0, read e/p/f) | calculator, positions moved "
        "| calculator, positions + cell | calculator, tilted cell "
        "| calculator (positions) - bare run 0, CPU, median of per-round differences "
        "| first call (wall, builds the system) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, (potential, element, pair_lines, cells) in cases().items():
            for size, atoms in cells.items():
                calls = args.calls if size == "small" else max(4, args.calls // 4)
                r = measure(potential, element, pair_lines, atoms, calls, Path(tmp))

                def ms(key):
                    wall, cpu = r[key]
                    return f"{wall * 1e3:.2f} / {cpu * 1e3:.2f}"

                extra = r["extra CPU"]
                columns = [name, f"{len(atoms):,}", *(ms(key) for key in TIMED),
                           f"{extra * 1e3:+.2f} ms ({extra / r['bare run 0'][1] * 100:+.0f} %)",
                           f"{r['first call'] * 1e3:.0f} ms"]
                lines.append("| " + " | ".join(columns) + " |")
                print(lines[-1], flush=True)
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
