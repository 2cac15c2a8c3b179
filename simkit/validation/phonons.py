"""Phonons by finite displacements (phonopy), forces from the potential through :class:`SimkitCalculator`.

phonopy finds the primitive cell and the symmetry-distinct displacements of
the relaxed crystal's supercell (``repeat``); the forces on each displaced
supercell come from LAMMPS through simkit's ASE calculator, so they are exactly
what ``simkit md`` runs. Reported: the frequencies at the q-points named in the
config (fractional coordinates of the primitive cell's reciprocal lattice,
sorted per point), the highest frequency and the lowest on a Gamma-centred mesh
(negative: an imaginary mode, the crystal is dynamically unstable with this
potential), and the density of states for the figure.
"""

from __future__ import annotations

import warnings

import numpy as np
from ase import Atoms

from simkit.lammps.ase_calculator import SimkitCalculator
from simkit.lammps.potentials.base import Potential
from simkit.validation.config import PhononSpec

# Frequencies this close to zero (THz) at Gamma are the acoustic modes, not instabilities.
ACOUSTIC_TOLERANCE_THZ = 0.05


def phonons(potential: Potential, relaxed_unit: Atoms, spec: PhononSpec, comm=None) -> tuple[dict, dict]:
    """(quantities, curves) of the phonons; quantity names start with ``phonon_``."""
    # lazy: phonopy (and spglib) load only for a validation that asks for phonons
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms
    from phonopy.structure.cells import PrimitiveMatrixAutoDefaultWarning

    unit = PhonopyAtoms(symbols=relaxed_unit.get_chemical_symbols(), cell=np.asarray(relaxed_unit.cell),
                        scaled_positions=relaxed_unit.get_scaled_positions())
    with warnings.catch_warnings():
        # The warning tells users of phonopy 3 that "auto" became the default; simkit asks for it on
        # purpose (q-points are given in the primitive cell's reciprocal lattice).
        warnings.simplefilter("ignore", PrimitiveMatrixAutoDefaultWarning)
        phonon = Phonopy(unit, supercell_matrix=np.diag(spec.repeat), primitive_matrix="auto")
    phonon.generate_displacements(distance=spec.displacement_A)
    forces = []
    with SimkitCalculator(potential, comm=comm) as calculator:
        for cell in phonon.supercells_with_displacements:
            atoms = Atoms(cell.symbols, cell=cell.cell, scaled_positions=cell.scaled_positions, pbc=True)
            atoms.calc = calculator
            forces.append(atoms.get_forces())
    # Subtracting the drift (the sum of forces, zero in exact arithmetic) keeps the acoustic modes at zero.
    phonon.forces = [f - f.mean(axis=0) for f in forces]
    phonon.produce_force_constants()
    phonon.symmetrize_force_constants()
    quantities: dict[str, float | int] = {"phonon_displacements": len(forces)}
    for name, q in spec.q_points.items():
        for index, frequency in enumerate(sorted(phonon.run_qpoints([q]).frequencies[0]), start=1):
            quantities[f"phonon_{name}_{index}_THz"] = float(frequency)
    phonon.run_mesh([spec.mesh] * 3, is_gamma_center=True)
    frequencies = phonon.mesh.frequencies
    lowest = float(frequencies.min())
    quantities["phonon_max_THz"] = float(frequencies.max())
    quantities["phonon_min_THz"] = lowest if abs(lowest) > ACOUSTIC_TOLERANCE_THZ else 0.0
    phonon.run_total_dos()
    dos = phonon.total_dos
    curves = {"frequency_THz": np.asarray(dos.frequency_points).tolist(), "dos_per_THz": np.asarray(dos.dos).tolist(),
              "q_points": {k: list(v) for k, v in spec.q_points.items()}}
    return quantities, curves
