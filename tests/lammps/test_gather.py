"""Rank-0 gathers equal LAMMPS's all-reduce gather, in atom-ID order, serial and under mpirun -np 2."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_python_mpi

SCRIPT = """
import json, sys
import numpy as np
from ase.build import bulk
from simkit.lammps import dynamics
from simkit.lammps.gather import gather_on_root
from simkit.lammps.potentials import EamPotential
from simkit.lammps.session import LammpsSession
from simkit.runtime.paths import lammps_potentials_dir


def run(out, comm, vacuum_side):
    atoms = bulk("Cu", "fcc", 3.615, cubic=True).repeat((4, 3, 3))
    atoms.positions += np.random.default_rng(5).normal(0.0, 0.05, atoms.positions.shape)
    if vacuum_side:  # every atom in the lower half of x: under 2 ranks, one subdomain owns none
        atoms.cell[0, 0] *= 3.0
        atoms.positions[:, 0] += 2.0  # clear of the periodic seam, so no atom wraps to the far side
    # Shuffle so that atom IDs do not follow positions (rank order != ID order).
    atoms = atoms[np.random.default_rng(6).permutation(len(atoms))]
    with LammpsSession(comm) as session:
        session.create_system(atoms, ["Cu"])
        session.set_potential(EamPotential(lammps_potentials_dir() / "Cu_zhou.eam.alloy"))
        session.command("compute pe_atom all pe/atom")
        dynamics.set_timestep(session, 2.0)
        dynamics.create_velocities(session, 1200.0, 3)
        dynamics.add_nve(session, "nve")
        session.command("run 60 post no")
        wanted = {"x": 3, "v": 3, "f": 3, "type": 1, "image": 1, "c_pe_atom": 1}
        mine = gather_on_root(session, wanted)
        reference = {name: session.gather(name, count) for name, count in wanted.items()}
        nlocal = int(session.lmp.extract_setting("nlocal"))
        counts = [nlocal] if comm is None else comm.allgather(nlocal)
        if (comm is None or comm.Get_rank() == 0):
            result = {"counts": counts}
            for name in wanted:
                result[name] = bool(np.array_equal(mine[name], reference[name]))
                result[name + "_shape"] = list(mine[name].shape)
            with open(out, "w") as handle:
                json.dump(result, handle)
        else:
            assert mine is None


if __name__ == "__main__":
    from simkit.runtime.mpi import world
    run(sys.argv[1], world(), sys.argv[2] == "vacuum")
"""


def _load(script_path, namespace):
    exec(compile(SCRIPT, str(script_path), "exec"), namespace)


def _check(result, natoms):
    for name, width in {"x": 3, "v": 3, "f": 3, "type": 1, "image": 1, "c_pe_atom": 1}.items():
        assert result[name], f"{name} differs from LAMMPS's gather"
        assert result[name + "_shape"] == ([natoms, width] if width > 1 else [natoms])
    assert sum(result["counts"]) == natoms


def test_serial_root_gather_equals_lammps_gather(tmp_path):
    namespace: dict = {}
    _load(tmp_path / "gather.py", namespace)
    namespace["run"](str(tmp_path / "serial.json"), None, False)
    _check(json.loads((tmp_path / "serial.json").read_text()), 144)


@pytest.mark.mpi
@pytest.mark.parametrize("layout", ["bulk", "vacuum"])
def test_two_rank_root_gather_equals_lammps_gather(tmp_path, layout):
    script = tmp_path / "gather.py"
    script.write_text(SCRIPT)
    result = run_python_mpi(script, 2, str(tmp_path / "mpi.json"), layout, timeout=300)
    assert result.returncode == 0, result.stderr
    found = json.loads((tmp_path / "mpi.json").read_text())
    _check(found, 144)
    assert len(found["counts"]) == 2
    if layout == "vacuum":
        assert 0 in found["counts"]  # one rank owned no atoms and still took part
    else:
        assert min(found["counts"]) > 0
