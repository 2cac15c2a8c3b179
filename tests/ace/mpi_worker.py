"""Run under mpirun by test_mpi.py; rank 0 writes the results.

    evaluate MODEL ELEMENTS STRUCTURES.traj OUT.npz
        energy, forces, per-atom energies and virial of every structure, newton on and off
    nve MODEL OUT.npz
        1000 NVE steps of 216 Si atoms at 1 fs with the ACE model and with the SNAP
        teacher from identical positions and velocities; total energy every 10 steps
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from simkit.ace.check import evaluate_lammps  # noqa: E402
from simkit.runtime.mpi import world  # noqa: E402
from tests.ace import helpers  # noqa: E402


def evaluate(comm, model: str, elements: list[str], structures_file: str, out: str) -> None:
    from ase.io import read

    structures = read(structures_file, index=":")
    rows = {}
    for newton in (True, False):
        tag = "on" if newton else "off"
        evals = [evaluate_lammps(model, atoms, elements, newton=newton, comm=comm) for atoms in structures]
        rows[f"energy_{tag}"] = np.array([e.energy_eV for e in evals])
        rows[f"forces_{tag}"] = np.concatenate([e.forces_eV_per_A for e in evals])
        rows[f"energies_{tag}"] = np.concatenate([e.energies_eV for e in evals])
        rows[f"virial_{tag}"] = np.array([e.virial_eV for e in evals])
    if comm.Get_rank() == 0:
        np.savez(out, size=comm.Get_size(), **rows)


def nve_energies(comm, pair_commands: list[str], atoms, steps: int, every: int) -> np.ndarray:
    from simkit.lammps.pace_plugin import ensure_pace

    lmp = helpers.lammps_instance(comm)
    try:
        helpers.setup_system(lmp, atoms, ["Si"])
        ensure_pace(lmp)
        for line in pair_commands:
            lmp.command(line)
        lmp.command("velocity all create 1200.0 4928459 mom yes rot yes dist gaussian")
        lmp.command("timestep 0.001")
        lmp.command("fix integrate all nve")
        lmp.command("thermo_style custom step etotal")
        lmp.command("run 0")
        series = [lmp.get_thermo("etotal")]
        for _ in range(steps // every):
            lmp.command(f"run {every} pre no post no")
            series.append(lmp.get_thermo("etotal"))
        return np.array(series)
    finally:
        lmp.close()


def nve(comm, model: str, out: str) -> None:
    from ase.build import bulk

    atoms = bulk("Si", "diamond", 5.43, cubic=True).repeat(3)
    atoms.rattle(0.02, seed=3)
    ace = nve_energies(comm, ["pair_style pace", f'pair_coeff * * "{model}" Si'], atoms, 1000, 10)
    snap = nve_energies(comm, helpers.teacher_commands(["Si"]), atoms, 1000, 10)
    if comm.Get_rank() == 0:
        np.savez(out, size=comm.Get_size(), natoms=len(atoms), ace=ace, snap=snap)


def main() -> None:
    comm = world()
    mode, *args = sys.argv[1:]
    if mode == "evaluate":
        evaluate(comm, args[0], args[1].split(","), args[2], args[3])
    elif mode == "nve":
        nve(comm, args[0], args[1])
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
