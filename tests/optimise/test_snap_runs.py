"""Whole runs of ``simkit optimise`` on a quadratic SNAP: improvement, outputs, kill and resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time

import h5py
import pandas as pd
import pytest

from simkit.optimise import load_optimise_config, run_optimisation
from simkit.optimise.journal import read_rows
from tests.conftest import BIN, run_cli
from tests.optimise.conftest import base_config, write_config

QUADRATIC = {"snap": {"twojmax": 4, "quadratic": True, "solver": {"kind": "ridge", "alpha": 1.0e-6}}}
SPACE = {"snap.rcutfac": {"real": [3.0, 6.0]}, "snap.solver.alpha": {"real": [1.0e-10, 0.1], "prior": "log-uniform"}}


def test_bayesian_steps_improve_on_the_initial_design(tmp_path, si_small_file):
    """8 candidates, 4 from the Hammersley design; one candidate at a time so the sequence is deterministic."""
    document = base_config(si_small_file, tmp_path / "run", fit=QUADRATIC, search_space=SPACE,
                           budget={"candidates": 8}, optimiser={"initial_points": 4}, parallel={"candidates": 1})
    config = load_optimise_config(write_config(tmp_path / "optimise.yaml", document))
    summary = run_optimisation(config)
    rows = read_rows(tmp_path / "run")
    assert [r["status"] for r in rows] == ["ok"] * 8 and [r["id"] for r in rows] == list(range(1, 9))
    initial = [r for r in rows if r["source"] == "initial"]
    later = [r for r in rows if r["source"] != "initial"]
    assert [r["initial_index"] for r in initial] == [0, 1, 2, 3] and len(later) == 4
    assert min(r["loss"] for r in later) < min(r["loss"] for r in initial)
    assert all(r["told_value"] == pytest.approx(r["loss"]) for r in rows)  # accuracy alone: objective = loss

    best = summary["results"]["summary"]
    assert best["best_id"] == min(rows, key=lambda r: r["loss"])["id"] and best["finished"] == 8
    assert summary["status"] == "finished"
    table = pd.read_csv(tmp_path / "run" / "candidates.csv")
    assert len(table) == 8 and table["best"].sum() == 1
    assert {"param:snap.rcutfac", "param:snap.solver.alpha", "force_vector_rmse_meV_per_A",
            "energy_rmse_meV_per_atom[liquid]", "fit_s"} <= set(table.columns)
    with h5py.File(tmp_path / "run" / "candidates.h5") as handle:
        assert handle["candidates/loss"].shape == (8,)
        assert handle["candidates/force_vector_rmse_meV_per_A"].attrs["units"] == "meV/Å"
    for name in ("convergence.png", "pareto.png", "pareto_energy_forces.png"):
        assert (tmp_path / "run" / name).stat().st_size > 10_000
    # The energy/force trade-off: its front in the summary, the table and its own CSV, listed as an output.
    front = pd.read_csv(tmp_path / "run" / "pareto_energy_forces.csv")
    assert list(front["id"]) == [entry["id"] for entry in best["energy_force_pareto"]]
    assert set(front["id"]) == set(table.loc[table["pareto_energy_forces"], "id"]) and len(front) >= 1
    assert "pareto_energy_forces_csv" in summary["outputs"]

    from simkit.datasets import read_dataset
    from simkit.fitting.deployed import read_potential_yaml
    from simkit.scoring.evaluate import predict

    best_dir = tmp_path / "run" / "best"
    provenance = json.loads((best_dir / "provenance.json").read_text())
    assert provenance["candidate"]["id"] == best["best_id"] and provenance["data"][0]["sha256"]
    assert provenance["versions"]["scikit-optimize"] == "0.10.2"
    potential = read_potential_yaml(best_dir / "potential.yaml")  # file names relative to best/
    frames = read_dataset(si_small_file).frames[:2]
    from simkit.datasets.frames import Dataset

    assert predict(potential, Dataset(frames, name="check")).energy_pred_eV.shape == (2,)


def _finished(journal) -> int:
    if not journal.is_file():
        return 0
    try:
        with sqlite3.connect(journal, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM candidates WHERE status NOT IN ('running', 'lost')").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


@pytest.mark.slow
def test_a_run_killed_mid_fit_resumes_keeping_every_finished_candidate_once(tmp_path, si_small_file):
    run = tmp_path / "run"
    document = base_config(si_small_file, run, fit=QUADRATIC, search_space=SPACE, budget={"candidates": 8},
                           optimiser={"initial_points": 3}, parallel={"candidates": 2})
    path = write_config(tmp_path / "optimise.yaml", document)
    log = tmp_path / "first_session.log"
    with log.open("w") as stderr:
        process = subprocess.Popen([str(BIN / "simkit"), "optimise", str(path)], stdout=subprocess.DEVNULL,
                                   stderr=stderr, start_new_session=True)
        try:
            deadline = time.monotonic() + 240
            while _finished(run / "journal.sqlite") < 2:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "no two candidates finished in time"
                time.sleep(0.1)
        finally:
            os.killpg(process.pid, signal.SIGKILL)  # the coordinator and its workers, mid-candidate
            process.wait(timeout=30)
    before = {r["id"]: r for r in read_rows(run)}
    finished_before = {i: r for i, r in before.items() if r["status"] not in ("running", "lost")}
    assert 2 <= len(finished_before) < 8

    result = run_cli("optimise", "--resume", str(run), "--no-progress")
    assert result.returncode == 0, result.stderr
    rows = read_rows(run)
    finished = [r for r in rows if r["status"] not in ("running", "lost")]
    assert len(finished) == 8 and all(r["status"] == "ok" for r in finished)
    for cid, row in finished_before.items():  # kept exactly as they were committed
        after = next(r for r in rows if r["id"] == cid)
        assert (after["params"], after["told_value"], after["finished_at"]) == (
            row["params"], row["told_value"], row["finished_at"])
    points = [json.dumps(r["point"]) for r in finished]
    assert len(set(points)) == 8  # no candidate evaluated twice
    design = sorted(r["initial_index"] for r in finished if r["initial_index"] is not None)
    assert design == [0, 1, 2]  # every design point once, including any that was in flight
    lost = [r["id"] for r in rows if r["status"] == "lost"]
    assert lost == sorted(i for i, r in before.items() if r["status"] == "running")
    tells = sorted(r["tell_order"] for r in finished)
    assert tells == list(range(1, 9))
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["results"]["session"]["lost"] == lost

    # A finished run only regenerates its results ...
    again = run_cli("optimise", str(path), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert len(read_rows(run)) == len(rows) and "8 of 8 candidates finished" in again.stdout
    # ... and a changed search space is refused before anything runs.
    document["search_space"]["snap.rcutfac"] = {"real": [3.0, 5.0]}
    changed = run_cli("optimise", str(write_config(tmp_path / "changed.yaml", document)))
    assert changed.returncode == 2
    assert "different search space or settings (changed: search_space.snap.rcutfac.real" in changed.stderr
    assert len(read_rows(run)) == len(rows)
