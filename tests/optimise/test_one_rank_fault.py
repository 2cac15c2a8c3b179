"""``mpirun -np 2 simkit optimise`` with a defect on one rank only: the job ends promptly and non-zero, the
journal keeps what finished, and the same command afterwards completes the budget."""

from __future__ import annotations

import time

import pytest

from simkit.optimise.journal import read_rows
from tests.conftest import run_cli, run_python_mpi
from tests.one_rank_fault import MESSAGE, cli_fault_script
from tests.optimise.conftest import base_config, write_config


@pytest.mark.mpi
@pytest.mark.parametrize("groups", [1, 2])
def test_a_defect_on_one_rank_ends_the_job_and_the_run_continues(tmp_path, si_small_file, groups):
    # groups=2: rank 1 leads its own group (the coordinator's thread waits for it); groups=1: rank 1
    # follows rank 0 inside one candidate (rank 0 waits in the candidate's LAMMPS or fit).
    run = tmp_path / "run"
    document = base_config(si_small_file, run, search_space={"snap.rcutfac": {"real": [4.0, 5.0]}},
                           budget={"candidates": 4}, parallel={"candidates": groups})
    config = write_config(tmp_path / "optimise.yaml", document)
    script = tmp_path / "fault.py"
    script.write_text(cli_fault_script(patch="simkit.optimise.mpi_pool:evaluate_candidate", rank=1, on_call=2))

    started = time.monotonic()
    done = run_python_mpi(script, 2, "optimise", str(config), timeout=240)  # a rank left waiting times out here
    assert done.returncode != 0
    assert time.monotonic() - started < 180
    assert done.stderr.count(f"ValueError: {MESSAGE}") == 1, done.stderr  # the defect's traceback, once
    before = [r for r in read_rows(run) if r["status"] == "ok"]
    assert len(before) >= 1  # the candidate(s) finished before the fault are journalled

    again = run_cli("optimise", str(config), np_ranks=2, timeout=300)
    assert again.returncode == 0, again.stderr
    rows = read_rows(run)
    assert len([r for r in rows if r["status"] == "ok"]) == 4
    assert {r["status"] for r in rows} <= {"ok", "lost"}
