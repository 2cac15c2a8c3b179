"""Gathering a frame from a LAMMPS session: time across timestep changes, wrapped + images, species."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from simkit.io import THERMO_OBSERVABLES, H5mdWriter, open_trajectory
from simkit.lammps import dynamics
from simkit.lammps.potentials import EamPotential
from simkit.lammps.session import LammpsSession
from simkit.lammps.snapshot import append_session, current_time_ps, take_snapshot


def test_snapshot_of_a_running_session(lammps_potentials):
    atoms = bulk("Cu", "fcc", 3.615, cubic=True).repeat(3)
    atoms.positions += 0.3  # some atoms start outside [0, L): LAMMPS wraps them and counts images
    with LammpsSession() as session:
        session.create_system(atoms, ["Ni", "Cu"])  # Cu is type 2: species must follow the types
        session.set_potential(EamPotential(lammps_potentials / "CuNi.eam.alloy"))
        dynamics.set_timestep(session, 2.0)
        dynamics.create_velocities(session, 2000.0, 3)
        dynamics.add_nve(session, "nve")
        dynamics.run_steps(session, 50, chunk=50)
        dynamics.set_timestep(session, 1.0)
        dynamics.run_steps(session, 30, chunk=30)
        assert current_time_ps(session) == (80, pytest.approx(0.13))
        snapshot = take_snapshot(session, velocities=True, forces=True)
        unwrapped = session.positions(unwrapped=True)
        thermo = session.thermo()
        with H5mdWriter("s.h5md", velocities=True, forces=True, observables=THERMO_OBSERVABLES.values()) as writer:
            append_session(writer, session, thermo=thermo)
            with pytest.raises(ValueError, match="thermo is from step 80, the frame from step 81"):
                session.command("run 1 post no")
                append_session(writer, session, thermo=thermo)
    assert snapshot.step == 80 and snapshot.symbols == ["Cu"] * len(atoms)
    assert set(snapshot.numbers) == {29}
    np.testing.assert_allclose(snapshot.unwrapped_positions_A, unwrapped, atol=1e-12)
    fractional = np.linalg.solve(snapshot.cell_A.T, snapshot.positions_A.T).T
    assert fractional.min() > -0.1 and fractional.max() < 1.1
    assert np.abs(snapshot.forces_eV_per_A).max() > 0.01
    with open_trajectory("s.h5md") as traj:
        frame = traj[0]
        assert frame.step == 80 and frame.time_ps == pytest.approx(0.13)
        np.testing.assert_array_equal(frame.positions_A, snapshot.positions_A)
        np.testing.assert_array_equal(frame.velocities_A_per_ps, snapshot.velocities_A_per_ps)
        assert traj.observables()["temperature"]["value"][0] == pytest.approx(thermo["temp"])
