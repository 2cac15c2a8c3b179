"""Cost of grading ACE extrapolation (gamma) during MD, against plain MD.

    .venv/bin/python benchmarks/ace_gamma_cost.py [--output benchmarks/results/ace_gamma_cost.md]

Potentials as in benchmarks/ace_plugin.py (pyace basis API, random bounded
coefficients): ``sige-7A`` (two elements, ~600 functions each) and a small
two-element one of the size of the Sb2Te3 demo's ACE (~60 functions each).
The active set comes from ``simkit.ace.activeset`` (maxvol) on rattled and
strained 216-atom cells. Each case runs LAMMPS steps on a rattled 216-atom cell
without an integrator (forces every step on fixed positions, as in
ace_plugin.py: the random potentials are not fitted, and MD with them would
wander off and change the neighbour counts between modes), on one core: plain,
grading every 10 steps (``fix pair 10 pace gamma 1``) and grading every step.
CPU time per step, best of several repeats.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ace_plugin import _shown, best_cpu_seconds, build_potential, describe, machine, structure  # noqa: E402

import simkit  # noqa: E402,F401 - preloads MPI for the lammps module

CASES = {
    "sige-7A": dict(elements=["Si", "Ge"], functions=600, nradmax=[12, 6, 4, 3, 2], lmax=[0, 4, 3, 2, 1], rcut=7.0),
    "sige-small": dict(elements=["Si", "Ge"], functions=60, nradmax=[8, 4, 3, 2], lmax=[0, 3, 2, 1], rcut=6.0),
}
MODES = {"plain": None, "gamma every 10 steps": 10, "gamma every step": 1}


def training(count: int):
    import numpy as np

    frames = []
    for seed in range(count):
        atoms = structure("SiGe")
        strain = 1.0 + 0.03 * np.sin(seed)
        atoms.set_cell(atoms.cell.array * strain, scale_atoms=True)
        atoms.rattle(0.15, seed=100 + seed)
        frames.append(atoms)
    return frames


def time_mode(model: Path, activeset: Path, atoms, every: int | None, steps: int, repeats: int):
    from simkit.lammps.gamma import max_gamma, watch_gamma
    from simkit.lammps.potentials.ace import AcePotential
    from simkit.lammps.session import LammpsSession

    with LammpsSession() as session:
        session.create_system(atoms, ["Ge", "Si"], masses={"Ge": 72.6, "Si": 28.1})
        session.set_potential(AcePotential(model, activeset=activeset if every else None))
        watch = watch_gamma(session, every) if every else None
        session.run(steps)
        seconds = best_cpu_seconds(lambda: session.run(steps, setup=False), repeats) / steps
        return seconds, (max_gamma(session, watch) if watch else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from simkit.ace import activeset

    lines = [
        "# Cost of the extrapolation grade (gamma) in simkit's pace plugin",
        "",
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- command: `{' '.join([_shown(sys.executable), *sys.argv])}`",
        f"- machine: {machine()}; load average at start {os.getloadavg()[0]:.1f} (CPU time, not wall time)",
        f"- steps: LAMMPS `run` without an integrator on a rattled 216-atom SiGe cell (forces every step), one core; "
        f"CPU time per step, best of {args.repeats} runs of {args.steps} steps",
        "",
        "| potential | functions per element | mode | ms/step | overhead vs plain | max gamma |",
        "|---|---|---|---|---|---|",
    ]
    notes = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in CASES.items():
            yace, yaml_path = Path(tmp) / f"{name}.yace", Path(tmp) / f"{name}.yaml"
            build_potential(yace, case["elements"], case["functions"], case["nradmax"], case["lmax"], case["rcut"],
                            bbasis_path=yaml_path)
            bbasis = activeset.load_bbasis(yaml_path)
            counts = activeset.function_counts(bbasis)
            frames = training(max(4, 2 * max(counts.values()) // 108 + 2))
            chosen = activeset.select_active_set(activeset.projections(bbasis, frames), bbasis.elements_name)
            plugin_file = activeset.write_plugin_file(Path(tmp) / f"{name}.activeset", bbasis, chosen)
            atoms = structure("SiGe")
            plain = None
            for mode, every in MODES.items():
                seconds, gamma = time_mode(yace, plugin_file, atoms, every, args.steps, args.repeats)
                plain = plain or seconds
                lines.append(f"| {name} | {', '.join(f'{el} {k}' for el, k in counts.items())} | {mode} | "
                             f"{1e3 * seconds:.2f} | {100 * (seconds / plain - 1):+.0f} % | "
                             f"{'' if gamma is None else f'{gamma:.2f}'} |")
                print(lines[-1], flush=True)
            notes.append(f"- {name}: {describe(yace)}; active set from {len(frames)} cells")
    report = "\n".join([*lines, "", *notes, ""])
    print(report)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report)


if __name__ == "__main__":
    main()
