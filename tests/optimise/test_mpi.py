"""``mpirun -np 2 simkit optimise``: two groups of one rank, then one group of two ranks, one journal."""

from __future__ import annotations

import json

import pytest

from simkit.optimise.journal import read_rows
from tests.conftest import run_cli
from tests.optimise.conftest import base_config, speed_section, write_config


@pytest.mark.mpi
@pytest.mark.slow
def test_world_split_into_groups_and_continued_on_one_group_of_two(tmp_path, si_small_file):
    run = tmp_path / "run"
    document = base_config(si_small_file, run, search_space={"snap.rcutfac": {"real": [4.0, 5.0]}},
                           speed=speed_section(), objective={"cost_weight": 0.01, "early_stop": False},
                           budget={"candidates": 3}, parallel={"candidates": 2})
    first = run_cli("optimise", str(write_config(tmp_path / "split.yaml", document)), np_ranks=2)
    assert first.returncode == 0, first.stderr
    assert "3 of 3 candidates finished" in first.stdout
    rows = read_rows(run)
    assert [r["status"] for r in rows] == ["ok"] * 3
    assert {r["outcome"]["conditions"]["ranks"] for r in rows} == {1}
    assert {r["outcome"]["conditions"]["mode"] for r in rows} == {"mpi"}
    # Group 0's candidate logs go to their own files, not the console.
    assert "SNAP fit:" not in first.stderr
    assert "SNAP fit:" in (run / "candidates" / "c0001" / "candidate.log").read_text()

    document["parallel"] = {"candidates": 1}  # parallelism is not part of the run's definition
    second = run_cli("optimise", str(write_config(tmp_path / "one_group.yaml", document)), "--candidates", "4",
                     np_ranks=2)
    assert second.returncode == 0, second.stderr
    rows = read_rows(run)
    assert [r["status"] for r in rows] == ["ok"] * 4
    conditions = rows[3]["outcome"]["conditions"]
    assert conditions["ranks"] == 2 and conditions["concurrent_candidates"] == 1
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["mpi"]["ranks"] == 2 and summary["results"]["session"]["finished_before"] == 3

    uneven = run_cli("optimise", str(write_config(tmp_path / "uneven.yaml", {**document, "parallel": {
        "candidates": 3}})), "--candidates", "5", np_ranks=2)
    assert uneven.returncode == 2 and "does not divide the 2 MPI ranks" in uneven.stderr
