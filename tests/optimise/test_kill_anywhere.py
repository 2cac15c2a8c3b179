"""simkit optimise killed at seeded random moments and started again each time ends as the uninterrupted
run: every point of the space evaluated exactly once, the same losses, the same best, a complete best/."""

from __future__ import annotations

import json
import time

import pytest

from simkit.optimise.journal import read_rows
from tests.conftest import BIN, run_cli
from tests.kill_anywhere import kill_anywhere
from tests.optimise.conftest import base_config, write_config

KILLS = 20
POINTS = [2, 4, 6, 8]
SPACE = {"snap.twojmax": {"categorical": POINTS}}


@pytest.mark.slow
def test_optimise_killed_anywhere_ends_as_the_uninterrupted_run(tmp_path, si_small_file):
    def config(name):
        document = base_config(si_small_file, tmp_path / name, search_space=SPACE, budget={"candidates": len(POINTS)},
                               optimiser={"initial_points": len(POINTS)})
        return write_config(tmp_path / f"{name}.yaml", document)

    started = time.monotonic()
    done = run_cli("optimise", str(config("reference")), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    uninterrupted_s = time.monotonic() - started

    killed = config("killed")
    simkit = str(BIN / "simkit")
    # Running the same config again continues the run in its output_dir (the way a batch job is requeued).
    # Kill times scale with the uninterrupted run, so they fall in start-up, fits and the summary on a fast
    # machine as on a slow one (fixed times of 0.5-4 s let a fast machine finish after 9 kills).
    record = kill_anywhere([simkit, "optimise", str(killed)], [simkit, "optimise", str(killed)],
                           lambda: False, kills=KILLS, seed=11,
                           delay_s=(0.1 * uninterrupted_s, 0.6 * uninterrupted_s), cwd=tmp_path)
    assert len(record.kills) >= KILLS - 3 and record.returncodes[-1] == 0, (uninterrupted_s, record)

    ours, theirs = read_rows(tmp_path / "killed"), read_rows(tmp_path / "reference")
    finished = [r for r in ours if r["status"] == "ok"]
    by_point = {r["params"]["snap.twojmax"]: r for r in finished}
    assert sorted(by_point) == POINTS and len(finished) == len(POINTS)  # none lost, none twice
    reference = {r["params"]["snap.twojmax"]: r for r in theirs}
    for twojmax, row in by_point.items():
        assert row["loss"] == pytest.approx(reference[twojmax]["loss"], rel=1e-9)
    # candidates running at a kill are journalled as lost, never as results
    assert all(r["status"] in ("ok", "lost") for r in ours)
    summary = json.loads((tmp_path / "killed" / "run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["results"]["summary"]["best_params"] == {"snap.twojmax": 8}
    best = json.loads((tmp_path / "killed" / "best" / "provenance.json").read_text())
    assert best["candidate"]["params"] == {"snap.twojmax": 8}
    assert (tmp_path / "killed" / "best" / "potential.yaml").is_file()
    assert not (tmp_path / "killed" / ".best.new").exists()
