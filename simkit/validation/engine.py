"""Energies, stresses and relaxations of small cells in LAMMPS, for the validation properties.

Every property is built from three operations on an ASE structure: evaluate it
as it is, relax its atoms in a fixed cell, or relax atoms and cell together to
a target pressure. :class:`Engine` does them in one :class:`LammpsSession`
(collective under MPI: every rank calls with the same structure), loading the
structure and the potential afresh each time, so no state leaks from one
property into the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from simkit.errors import RunFailed
from simkit.lammps.dynamics import minimise
from simkit.lammps.potentials.base import Potential
from simkit.lammps.session import LammpsSession
from simkit.units import ev_per_a3_to_gpa

# Force tolerance of relaxations (eV/Å): far below what changes a formation energy in its 4th digit.
FORCE_TOLERANCE_EV_PER_A = 1e-6
# A cell relaxation is repeated (box/relax works on the cell it started from) until the
# largest stress component is below this, or refused after MAX_CELL_PASSES.
STRESS_TOLERANCE_GPA = 1e-4
MAX_CELL_PASSES = 8


@dataclass(frozen=True)
class State:
    """A structure after an evaluation or relaxation, with its energy and stress."""

    atoms: Atoms
    energy_eV: float
    stress_GPa: np.ndarray  # (3, 3), ASE sign: positive = tensile
    max_force_eV_per_A: float

    @property
    def energy_per_atom_eV(self) -> float:
        return self.energy_eV / len(self.atoms)


class Engine:
    """One potential in one LAMMPS session; see the module docstring."""

    def __init__(self, potential: Potential, species: tuple[str, ...], comm=None, *, max_iterations: int = 20000):
        self.potential = potential
        self.species = species
        self.max_iterations = max_iterations
        self.session = LammpsSession(comm)
        self.evaluations = 0

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def load(self, atoms: Atoms, label: str) -> None:
        self.session.create_system(atoms, self.species, label=label)
        self.session.set_potential(self.potential)

    def _state(self) -> State:
        evaluation = self.session.evaluate()
        self.evaluations += 1
        atoms = self.session.to_atoms()
        forces = evaluation.forces_eV_per_A
        return State(atoms, evaluation.energy_eV, ev_per_a3_to_gpa(evaluation.stress_eV_per_A3),
                     float(np.abs(forces).max()) if len(forces) else 0.0)

    def evaluate(self, atoms: Atoms, label: str = "structure") -> State:
        self.load(atoms, label)
        return self._state()

    def relax_atoms(self, atoms: Atoms, label: str = "structure") -> State:
        """Relax the positions in the fixed cell (conjugate gradients)."""
        self.load(atoms, label)
        minimise(self.session, force_tolerance_eV_per_A=FORCE_TOLERANCE_EV_PER_A, max_iterations=self.max_iterations)
        return self._state()

    def relax_cell(self, atoms: Atoms, label: str = "structure", pressure_bar: float = 0.0,
                   normal_only: bool = False) -> State:
        """Relax positions and the cell's lengths (``box/relax aniso``; with ``normal_only`` only the third
        cell vector's length normal to the first two, LAMMPS's z) to ``pressure_bar``.

        box/relax measures strain against the cell it starts from, so one pass
        stops short when the cell has far to go; passes repeat from the last
        cell until the stress is within ``STRESS_TOLERANCE_GPA`` of the target.
        """
        target = np.eye(3) * (-pressure_bar * 1e-4)  # GPa, tensile-positive: a pressure is a negative stress
        state = None
        for _ in range(MAX_CELL_PASSES):
            self.load(atoms if state is None else state.atoms, label)
            minimise(self.session, force_tolerance_eV_per_A=FORCE_TOLERANCE_EV_PER_A,
                     max_iterations=self.max_iterations, relax_box_bar=pressure_bar,
                     relax_box_dims="z" if normal_only else "aniso")
            state = self._state()
            residual = np.diag(state.stress_GPa - target)
            if np.abs(residual[2:] if normal_only else residual).max() < STRESS_TOLERANCE_GPA:
                return state
        raise RunFailed(f"{label}: the cell did not relax to {pressure_bar:g} bar in {MAX_CELL_PASSES} passes "
                        f"(stress left: {np.round(np.diag(state.stress_GPa), 5).tolist()} GPa)")
