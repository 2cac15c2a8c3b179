"""A 2-rank LAMMPS job through the session layer equals the 1-rank result."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from simkit.lammps.potentials import OverlayPotential, ZblPotential
from simkit.lammps.session import evaluate_structures
from tests.conftest import run_python_mpi

SCRIPT = """
import sys
import numpy as np
from ase.io import read
from simkit.runtime.paths import lammps_potentials_dir
from simkit.lammps.potentials import OverlayPotential, SnapPotential, ZblPotential
from simkit.lammps.session import evaluate_structures
from simkit.runtime.mpi import world

comm = world()
d = lammps_potentials_dir()
snap = SnapPotential(d / "Si_Zuo_JPCA2020.snapcoeff", d / "Si_Zuo_JPCA2020.snapparam")
potential = OverlayPotential([snap, ZblPotential(1.5, 2.0)])
structures = read(sys.argv[1], index=":")
results = evaluate_structures(structures, potential, comm=comm, per_atom=True)
if comm.Get_rank() == 0:
    np.savez(
        sys.argv[2],
        size=comm.Get_size(),
        energy=[r.energy_eV for r in results],
        forces=np.concatenate([r.forces_eV_per_A for r in results]),
        stress=np.array([r.stress_eV_per_A3 for r in results]),
        energies=np.concatenate([r.energies_eV for r in results]),
    )
"""


def _structures(rng):
    cubic = bulk("Si", "diamond", 5.43, cubic=True).repeat(3)
    cubic.positions += rng.normal(0.0, 0.08, cubic.positions.shape)
    triclinic = bulk("Si", "diamond", 5.5).repeat((4, 3, 3))
    triclinic.positions += rng.normal(0.0, 0.08, triclinic.positions.shape)
    return [cubic, triclinic]


@pytest.mark.mpi
def test_two_ranks_equal_one_rank(tmp_path, si_snap, rng):
    structures = _structures(rng)
    data = tmp_path / "structures.traj"  # binary: full precision, unlike extxyz
    from ase.io import write

    write(data, structures)
    script = tmp_path / "evaluate.py"
    script.write_text(SCRIPT)
    result = run_python_mpi(script, 2, str(data), str(tmp_path / "mpi.npz"))
    assert result.returncode == 0, result.stderr
    mpi = np.load(tmp_path / "mpi.npz")
    assert int(mpi["size"]) == 2

    potential = OverlayPotential([si_snap, ZblPotential(1.5, 2.0)])
    serial = evaluate_structures(structures, potential, per_atom=True)
    energies = np.array([r.energy_eV for r in serial])
    forces = np.concatenate([r.forces_eV_per_A for r in serial])
    np.testing.assert_allclose(mpi["energy"], energies, rtol=1e-12, atol=0)
    np.testing.assert_allclose(mpi["forces"], forces, rtol=0, atol=1e-10)
    np.testing.assert_allclose(mpi["stress"], [r.stress_eV_per_A3 for r in serial], rtol=0, atol=1e-10)
    np.testing.assert_allclose(mpi["energies"], np.concatenate([r.energies_eV for r in serial]), atol=1e-10)
    assert np.abs(forces).max() > 0.1  # the comparison is not between zeros
