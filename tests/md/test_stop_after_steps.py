"""``simkit md --stop-after-steps N``: stop cleanly at a checkpoint (a wall-time budget), resume to the same run."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from simkit.io import open_trajectory
from tests.conftest import run_cli
from tests.md.protocols import reset_protocol, write_protocol


def _protocol(out):
    # equilibrate 250 steps, pulse 1500, spread 500; checkpoints every 400 steps, thermo every 50.
    return reset_protocol(out, checkpoint_every=400, stages=[
        {"stage": "velocity", "name": "init", "temperature_K": 300},
        {"stage": "nvt", "name": "equilibrate", "duration_ps": 0.5, "temperature_K": 300},
        {"stage": "heat_pulse", "name": "reset", "region": "heater", "energy_eV": 400, "duration_ps": 3},
        {"stage": "nve", "name": "spread", "duration_ps": 1},
    ])


def _run(config, *extra):
    result = run_cli("md", str(config), *extra)
    assert result.returncode == 0, result.stderr
    return result


@pytest.mark.slow
def test_stops_on_checkpoint_steps_resume_to_the_uninterrupted_run_bitwise(tmp_path):
    reference, pieces = tmp_path / "reference", tmp_path / "pieces"
    config = write_protocol(tmp_path / "pieces.yaml", _protocol(pieces))
    # Checkpoints fall every 400 steps from each segment's start: 650 and 1050 are in the pulse (250-1750).
    first = _run(config, "--stop-after-steps", "650")
    assert "stopped at step 650 as asked" in first.stderr and "--resume" in first.stderr
    summary = json.loads((pieces / "run_summary.json").read_text())
    assert summary["status"] == "stopped" and summary["results"]["stopped_at_step"] == 650
    assert summary["results"]["checkpoints"]["written"] >= 2
    state = json.loads((pieces / "checkpoints" / "state.json").read_text())
    assert state["checkpoint"]["step"] == 650 and not state["checkpoint"]["segment_complete"]
    assert not (pieces / "final.extxyz").exists()

    # Stopped is not finished: a fresh start is refused like after a kill.
    refused = run_cli("md", str(config))
    assert refused.returncode == 2 and "--resume" in refused.stderr, refused.stderr

    assert "stopped at step 1050" in _run(config, "--resume", "--stop-after-steps", "400").stderr
    _run(config, "--resume")
    finished = json.loads((pieces / "run_summary.json").read_text())
    assert finished["status"] == "finished"
    timing = {s["label"]: s["timing"] for s in finished["results"]["segments"]}
    assert timing["spread"]["steps_this_attempt"] == 500 and timing["spread"]["s_per_step"] > 0
    assert timing["reset"]["steps_this_attempt"] == 1750 - 1050  # this attempt's share of the pulse
    assert len(finished["results"]["peak_memory_MiB_per_rank"]) == 1
    _run(write_protocol(tmp_path / "reference.yaml", _protocol(reference)))

    # Nose-Hoover, NVE and ehex keep their state in the restart file, and the uninterrupted run
    # re-initialised LAMMPS at the same checkpoints: bitwise the same run.
    pd.testing.assert_frame_equal(pd.read_csv(pieces / "thermo.csv"), pd.read_csv(reference / "thermo.csv"),
                                  check_exact=True)
    with open_trajectory(pieces / "trajectory.h5md") as a, open_trajectory(reference / "trajectory.h5md") as b:
        assert list(a.steps) == list(b.steps)
        assert (a.frame(-1).positions_A == b.frame(-1).positions_A).all()
        assert [p["_segment"]["status"] for p in a.provenance()] == ["stopped", "stopped", "finished"]


@pytest.mark.slow
def test_a_stop_between_checkpoints_writes_one_there_and_continues_the_same_protocol(tmp_path):
    reference, off = tmp_path / "reference", tmp_path / "off"
    config = write_protocol(tmp_path / "off.yaml", _protocol(off))
    _run(config, "--stop-after-steps", "333")
    state = json.loads((off / "checkpoints" / "state.json").read_text())
    assert state["checkpoint"]["step"] == 333 and state["checkpoint"]["thermo_rows"] == 6
    _run(config, "--resume")
    _run(write_protocol(tmp_path / "reference.yaml", _protocol(reference)))
    ours, theirs = pd.read_csv(off / "thermo.csv"), pd.read_csv(reference / "thermo.csv")
    assert list(ours["step"]) == list(theirs["step"])
    # Up to the stop, the same numbers; after it, LAMMPS's re-initialisation at step 333 (the other run
    # had none there) changes the order of float sums and the trajectories part as MD does.
    before = ours["step"] <= 333
    pd.testing.assert_frame_equal(ours[before], theirs[before], check_exact=True)
    heat = [json.loads((d / "run_summary.json").read_text())["results"]["heat"][0]["delivered_eV"]
            for d in (off, reference)]
    assert heat[0] == pytest.approx(heat[1], rel=0.01)


def test_stop_after_zero_steps_is_refused(tmp_path):
    config = write_protocol(tmp_path / "p.yaml", _protocol(tmp_path / "out"))
    result = run_cli("md", str(config), "--stop-after-steps", "0")
    assert result.returncode == 2 and "stop_after_steps must be at least 1" in result.stderr, result.stderr
