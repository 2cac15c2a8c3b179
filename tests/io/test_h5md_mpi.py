"""Frames written from a LAMMPS run under mpirun -np 2 equal those of the same run written serially."""

from __future__ import annotations

import numpy as np
import pytest

from simkit.io import open_trajectory
from tests.conftest import run_python_mpi

SCRIPT = """
import sys
import numpy as np
from ase.build import bulk
from simkit.io import THERMO_OBSERVABLES, H5mdWriter
from simkit.lammps import dynamics
from simkit.runtime.paths import lammps_potentials_dir
from simkit.lammps.potentials import EamPotential
from simkit.lammps.session import LammpsSession
from simkit.lammps.snapshot import append_session


def run(path, comm):
    atoms = bulk("Cu", "fcc", 3.615, cubic=True).repeat(4)
    atoms.positions += np.random.default_rng(3).normal(0.0, 0.05, atoms.positions.shape)
    potential = EamPotential(lammps_potentials_dir() / "Cu_zhou.eam.alloy")
    provenance = {"seeds": {"velocity": 7}, "ranks": 1 if comm is None else comm.Get_size()}
    with LammpsSession(comm) as session, H5mdWriter(path, comm, velocities=True, forces=True, provenance=provenance,
                                                    observables=THERMO_OBSERVABLES.values()) as writer:
        session.create_system(atoms, ["Cu"])
        session.set_potential(potential)
        dynamics.set_timestep(session, 2.0)
        dynamics.create_velocities(session, 1600.0, 7)
        dynamics.add_nvt(session, "nvt", 1600.0, 1600.0, 100.0)
        session.command("run 0 post no")
        append_session(writer, session, thermo=session.thermo())
        dynamics.run_steps(session, 300, chunk=50, on_chunk=lambda thermo: append_session(writer, session, thermo=thermo))


if __name__ == "__main__":
    from simkit.runtime.mpi import world

    run(sys.argv[1], world())
"""


@pytest.mark.mpi
def test_two_rank_trajectory_equals_serial(tmp_path):
    script = tmp_path / "md_writer.py"
    script.write_text(SCRIPT)
    result = run_python_mpi(script, 2, str(tmp_path / "mpi.h5md"), timeout=300)
    assert result.returncode == 0, result.stderr

    namespace: dict = {}
    exec(compile(SCRIPT, str(script), "exec"), namespace)  # same code, serial, in this process
    namespace["run"](str(tmp_path / "serial.h5md"), None)

    with open_trajectory(tmp_path / "serial.h5md") as serial, open_trajectory(tmp_path / "mpi.h5md") as parallel:
        assert len(serial) == len(parallel) == 7
        np.testing.assert_array_equal(serial.steps, parallel.steps)
        np.testing.assert_array_equal(serial.times_ps, parallel.times_ps)
        np.testing.assert_array_equal(serial.numbers, parallel.numbers)
        assert parallel.provenance()[0]["ranks"] == 2
        moved = 0.0
        for a, b in zip(serial, parallel):
            # Frame 0 is gathered before any dynamics: bit-identical. Later frames differ only by
            # the summation order of forces across ranks (chaotic growth from 1e-16 over 300 steps).
            tolerance = 0.0 if a.index == 0 else 1e-9
            np.testing.assert_allclose(b.positions_A, a.positions_A, rtol=0, atol=tolerance)
            np.testing.assert_array_equal(b.images, a.images)
            np.testing.assert_array_equal(b.cell_A, a.cell_A)
            np.testing.assert_allclose(b.velocities_A_per_ps, a.velocities_A_per_ps, rtol=0, atol=max(tolerance, 1e-9))
            np.testing.assert_allclose(b.forces_eV_per_A, a.forces_eV_per_A, rtol=0, atol=max(tolerance, 1e-8))
            moved = max(moved, np.abs(a.unwrapped_positions_A - serial[0].unwrapped_positions_A).max())
        assert moved > 0.5  # atoms really moved (and some crossed the cell: images are compared too)
        assert np.abs(serial[-1].images).max() >= 1
        thermo_a, thermo_b = serial.observables(), parallel.observables()
        np.testing.assert_allclose(thermo_b["temperature"]["value"], thermo_a["temperature"]["value"], rtol=1e-9)
        np.testing.assert_array_equal(thermo_b["temperature"]["step"], serial.steps)
