"""A small ACE optimisation through pacemaker, with the final upfit of the best candidate."""

from __future__ import annotations

import json

import pytest

from simkit.optimise import load_optimise_config, run_optimisation
from simkit.optimise.journal import read_rows
from tests.optimise.conftest import base_config, survival_section, write_config


@pytest.mark.slow
def test_ace_candidates_and_final_upfit(tmp_path, si_small_file):
    pytest.importorskip("pyace")
    document = base_config(si_small_file, tmp_path / "run", search_space={
        "ace.rcut_A": {"real": [4.0, 5.5]}, "ace.functions_per_element": {"categorical": [6, 12]}},
        budget={"candidates": 2}, optimiser={"initial_points": 2}, parallel={"candidates": 2},
        final_upfit={"stages": [{"kappa": 0.02, "max_iterations": 5}]})
    document["fit"] = {**document["fit"], "backend": "ace", "ace": {
        "nradmax_by_orders": [6, 3], "lmax_by_orders": [0, 2], "kappa": 0.3, "max_iterations": 15}}
    del document["fit"]["snap"]
    summary = run_optimisation(load_optimise_config(write_config(tmp_path / "ace.yaml", document)))
    rows = read_rows(tmp_path / "run")
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert len({json.dumps(r["params"], sort_keys=True) for r in rows}) == 2
    assert all(r["loss"] < 0.5 * r["outcome"]["baseline_loss"] for r in rows)
    best = tmp_path / "run" / "best"
    assert (best / "ace.yace").is_file() and "yace: ace.yace" in (best / "potential.yaml").read_text()
    upfit = json.loads((best / "upfit" / "upfit.json").read_text())
    assert upfit["best_id"] == summary["results"]["summary"]["best_id"]
    assert upfit["stages"] == [{"kappa": 0.02, "max_iterations": 5}]
    assert (best / "upfit" / "ace.yace").is_file() and upfit["loss"] > 0
    assert summary["results"]["final_upfit"]["loss"] == upfit["loss"]


@pytest.mark.slow
def test_survival_stage_reports_the_largest_gamma_of_each_ace_candidate(tmp_path, si_small_file):
    """ACE fits with their active set, a survival stage grading gamma: every candidate's survival record holds
    the largest gamma its replicas reached (a threshold far above it fails none of them on gamma)."""
    pytest.importorskip("pyace")
    document = base_config(si_small_file, tmp_path / "run", search_space={"ace.rcut_A": {"real": [4.5, 5.5]}},
                           budget={"candidates": 2}, optimiser={"initial_points": 2},
                           survival=survival_section(check_every_steps=20, thresholds={"max_gamma": 1.0e12}))
    document["fit"] = {**document["fit"], "backend": "ace", "ace": {
        "nradmax_by_orders": [6, 3], "lmax_by_orders": [0, 2], "kappa": 0.3, "max_iterations": 15,
        "activeset": True}}
    del document["fit"]["snap"]
    run_optimisation(load_optimise_config(write_config(tmp_path / "ace.yaml", document)))
    rows = read_rows(tmp_path / "run")
    assert [r["status"] for r in rows] == ["ok", "ok"]
    for row in rows:
        detail = row["outcome"]["survival_detail"]
        assert detail["max_gamma"] is not None and 0 < detail["max_gamma"] < 1.0e12, detail
        assert detail["total"] == 2 and "extrapolation" not in detail["failure_modes"]  # graded, none failed by it
