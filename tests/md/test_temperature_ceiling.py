"""``max_temperature_K``: a run whose temperature passes the ceiling ends as failed (exit 5) with one line naming
the stage, step and temperature, on one rank and on two, and keeps what it wrote; the default does not fire on a
normal run."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from simkit.config.loader import validate_config
from simkit.drivers.md.plan import temperature_ceiling
from simkit.drivers.md.protocol import MdProtocol
from simkit.errors import ConfigError
from simkit.io import open_trajectory
from tests.conftest import run_cli
from tests.md.protocols import write_protocol

SI = {
    "structure": {"bulk": {"element": "Si", "crystal": "diamond", "a_A": 5.431, "cubic": True}, "repeat": [2, 2, 2]},
    "potential": {"kind": "snap", "coeff": "lammps:Si_Zuo_JPCA2020.snapcoeff",
                  "param": "lammps:Si_Zuo_JPCA2020.snapparam"},
}


def _protocol(out, **extra) -> dict:
    """64 Si atoms: 20 steps at 100 K, then velocities redrawn at 3000 K (a blow-up stand-in) and 20 NVE steps."""
    return {
        "output_dir": str(out), "seed": 3, **SI, "thermo_every": 5, "trajectory_every": 5, "checkpoint_every": 10,
        "stages": [
            {"stage": "velocity", "temperature_K": 100},
            {"stage": "nvt", "name": "cold", "duration_ps": 0.02, "temperature_K": 100},
            {"stage": "velocity", "name": "kick", "temperature_K": 3000},
            {"stage": "nve", "name": "hot", "duration_ps": 0.02},
        ],
        **extra,
    }


def _assert_failed_at_the_ceiling(result, run):
    assert result.returncode == 5, result.stderr  # RunFailed
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("INFO")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("simkit md: error: stage hot: temperature ")
    assert "K at step 25 is above max_temperature_K = 1000 K" in lines[0], lines[0]

    # What the run wrote before the failure stays: the thermo rows (the offending one last), frames, checkpoints.
    thermo = pd.read_csv(run / "thermo.csv")
    assert list(thermo["step"]) == [5, 10, 15, 20, 25] and thermo["temperature_K"].iloc[-1] > 1000
    assert (thermo["temperature_K"].iloc[:-1] < 1000).all()
    with open_trajectory(run / "trajectory.h5md") as trajectory:
        assert list(trajectory.steps) == [0, 5, 10, 15, 20, 25]
        assert [p["_segment"]["status"] for p in trajectory.provenance()] == ["failed"]
    state = json.loads((run / "checkpoints" / "state.json").read_text())
    assert state["checkpoint"]["step"] == 20 and not state["finished"]
    assert (run / "checkpoints" / state["checkpoint"]["restart_file"]).is_file()
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["status"] == "failed" and "max_temperature_K" in summary["error"]
    assert summary["results"]["max_temperature_K"] == 1000
    assert not (run / "final.extxyz").exists()


def test_a_run_past_the_ceiling_fails_naming_stage_step_and_temperature(tmp_path):
    config = write_protocol(tmp_path / "hot.yaml", _protocol(tmp_path / "run", max_temperature_K=1000))
    _assert_failed_at_the_ceiling(run_cli("md", str(config), timeout=120), tmp_path / "run")


@pytest.mark.mpi
def test_a_run_past_the_ceiling_stops_both_ranks(tmp_path):
    config = write_protocol(tmp_path / "hot.yaml", _protocol(tmp_path / "run", max_temperature_K=1000))
    _assert_failed_at_the_ceiling(run_cli("md", str(config), np_ranks=2, timeout=120), tmp_path / "run")


def test_the_default_ceiling_lets_the_same_run_finish(tmp_path):
    run = tmp_path / "run"
    result = run_cli("md", str(write_protocol(tmp_path / "hot.yaml", _protocol(run))), timeout=120)
    assert result.returncode == 0, result.stderr
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["results"]["max_temperature_K"] == 15000.0  # 5 x 3000 K
    assert pd.read_csv(run / "thermo.csv")["temperature_K"].max() > 1000  # hotter than the ceiling above


def _loaded(tmp_path, **extra) -> MdProtocol:
    return validate_config(MdProtocol, _protocol(tmp_path / "run", **extra), source="p.yaml", base_dir=tmp_path)


def test_auto_is_five_times_the_hottest_target_and_at_least_5000_K(tmp_path):
    assert temperature_ceiling(_loaded(tmp_path), 64) == 15000.0
    cold = _loaded(tmp_path, stages=[{"stage": "nvt", "duration_ps": 1, "temperature_K": 300}])
    assert temperature_ceiling(cold, 64) == 5000.0
    melt = _loaded(tmp_path, stages=[{"stage": "ramp", "start_K": 300, "end_K": 2400, "duration_ps": 1}])
    assert temperature_ceiling(melt, 64) == 12000.0
    assert temperature_ceiling(_loaded(tmp_path, max_temperature_K=750.5), 64) == 750.5
    assert temperature_ceiling(_loaded(tmp_path, max_temperature_K=None), 64) is None


def test_auto_counts_a_heat_pulse_as_all_kinetic(tmp_path):
    # 1.5 x 64 atoms x kB x 1000 K of energy raises the temperature of 64 atoms by 1000 K at most.
    energy_eV = 1.5 * 64 * 8.617333262e-5 * 1000.0
    pulse = _loaded(tmp_path, regions=[{"name": "hot"}], stages=[
        {"stage": "nvt", "duration_ps": 1, "temperature_K": 1200},
        {"stage": "heat_pulse", "region": "hot", "energy_eV": energy_eV, "duration_ps": 1},
    ])
    assert temperature_ceiling(pulse, 64) == pytest.approx(5 * (1200 + 1000))


@pytest.mark.parametrize("value", [0, -300, "hot", True, float("inf"), float("nan"), [1000]])
def test_a_bad_ceiling_is_refused_by_key(tmp_path, value):
    with pytest.raises(ConfigError, match="max_temperature_K"):
        _loaded(tmp_path, max_temperature_K=value)
