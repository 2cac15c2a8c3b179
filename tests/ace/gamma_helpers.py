"""Shared by the gamma tests and their MPI worker: a random two-element ACE with its B-basis,
training and test structures, and gamma from LAMMPS + the plugin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk

from simkit.lammps.gamma import gamma_on_root, watch_gamma
from simkit.lammps.potentials.ace import AcePotential
from simkit.lammps.session import LammpsSession
from tests.ace import helpers

ELEMENTS = ("Sb", "Te")


def model(directory: Path, **changes) -> tuple[Path, Path]:
    """(.yace, B-basis .yaml) of a random ACE: two densities, ranks 1 to 4."""
    yaml_path = directory / "model.yaml"
    options = dict(functions=30, nradmax_by_orders=[6, 3, 2, 1], lmax_by_orders=[0, 2, 2, 1])
    options.update(changes)
    yace = helpers.random_model(directory / "model.yace", ELEMENTS, bbasis_path=yaml_path, **options)
    return yace, yaml_path


def graded_model(directory: Path) -> tuple[Path, Path]:
    """(.yace, .activeset) of :func:`model` with an active set from :func:`training` (simkit's maxvol)."""
    from simkit.ace import activeset

    yace, yaml_path = model(directory)
    bbasis = activeset.load_bbasis(yaml_path)
    chosen = activeset.select_active_set(activeset.projections(bbasis, training()), bbasis.elements_name)
    return yace, activeset.write_plugin_file(directory / "model.activeset", bbasis, chosen)


def cell(a_A: float = 3.0, rattle_A: float = 0.1, seed: int = 0) -> Atoms:
    atoms = bulk("Sb", "sc", a=a_A, cubic=True).repeat(3)
    atoms.symbols[::3] = "Te"
    atoms.rattle(rattle_A, seed=seed)
    return atoms


def training() -> list[Atoms]:
    return [cell(rattle_A=0.15, seed=seed) for seed in range(12)]


def tests() -> dict[str, Atoms]:
    """Rattled like the training data, and strongly distorted (compressed, sheared, a close pair)."""
    distorted = cell(a_A=2.8, rattle_A=0.3, seed=99)
    distorted.set_cell(distorted.cell.array @ np.array([[1, 0.15, 0], [0, 1, 0], [0, 0, 1]]), scale_atoms=True)
    return {"rattled": cell(rattle_A=0.1, seed=50), "distorted": helpers.close_contact(distorted, 2.0)}


def plugin_gamma(yace: Path, activeset: Path, atoms: Atoms, comm=None) -> np.ndarray | None:
    """Per-atom gamma (atom order) from LAMMPS with simkit's pace plugin; None off rank 0."""
    return graded_cells(AcePotential(yace, activeset=activeset), [atoms], ELEMENTS, comm)[0]


def graded_cells(potential, cells, species, comm=None) -> list[np.ndarray | None]:
    """Per-atom gamma of each cell through ``potential`` (an ACE with an active set, or an overlay of one)."""
    grades = []
    for atoms in cells:
        with LammpsSession(comm) as session:
            session.create_system(atoms, tuple(species))
            session.set_potential(potential)
            watch = watch_gamma(session, 1)
            session.run(0)
            grades.append(gamma_on_root(session, watch))
    return grades
