"""Real MD under mpirun: liquid CuNi (EAM shipped with LAMMPS), temperatures concurrently or one after
another, killed and resumed; D with uncertainties, conductivity and figures at the end."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from simkit.io import open_trajectory
from tests.conftest import BIN, run_cli

PRODUCTION = 4  # segment index of production in an NPT temperature protocol


def _config(path: Path, **extra) -> Path:
    data = {
        "output_dir": "run",
        "seed": 5,
        "structure": {"bulk": {"element": "CuNi", "crystal": "cesiumchloride", "a_A": 2.87, "cubic": True},
                      "repeat": [5, 5, 5]},
        "potential": {"kind": "eam/alloy", "file": "lammps:CuNi.eam.alloy"},
        "temperatures_K": [1900, 2300],
        "mobile_species": ["Cu", "Ni"],
        "timestep_fs": 2.0,
        "checkpoint_every": 250,
        "equilibration": {"start_K": 2600, "ramp_ps": 1.0, "hold_ps": 1.0, "thermo_every": 25},
        "production": {"duration_ps": 4.0, "trajectory_every": 5, "thermo_every": 50},
        "schedule": {"kind": "concurrent"},
        "conductivity": {"charges_e": {"Cu": 1.0, "Ni": -1.0}},
        **extra,
    }
    path.write_text(yaml.safe_dump(data))
    return path


def _thermo(folder: Path) -> list[dict]:
    with (folder / "thermo.csv").open() as handle:
        return list(csv.DictReader(handle))


@pytest.mark.mpi
@pytest.mark.slow
def test_concurrent_temperatures_end_to_end(tmp_path):
    config = _config(tmp_path / "diffusion.yaml")
    result = run_cli("diffusion", str(config), "--no-progress", np_ranks=2, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = tmp_path / "run"
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["mpi"]["ranks"] == 2
    assert summary["results"]["temperatures"] == {"1900": "finished", "2300": "finished"}
    for temperature in ("1900", "2300"):
        folder = run / f"T{temperature}K"
        md = json.loads((folder / "run_summary.json").read_text())
        assert md["mpi"]["ranks"] == 1  # each temperature ran on its own group of one rank
        detail = json.loads((folder / "analysis" / "diffusion.json").read_text())
        for species in ("Cu", "Ni"):
            tracer = detail["species"][species]["tracer"]
            assert 1e-6 < tracer["D_cm2_per_s"] < 1e-3 and 0 < tracer["D_err_cm2_per_s"] < tracer["D_cm2_per_s"]
            assert detail["species"][species]["window"]["stop_ps"] > detail["species"][species]["window"]["start_ps"]
        ne = detail["conductivity_nernst_einstein"]
        assert np.isfinite(ne["sigma_S_per_cm"]) and ne["sigma_err_S_per_cm"] > 0
        assert np.isfinite(detail["conductivity_charge_current"]["sigma_S_per_cm"])
        for name in ("msd.png", "alpha2.png", "van_hove.png"):
            assert (folder / "analysis" / name).stat().st_size > 0
        # Production frames: every 5 steps from the end of the hold, at the mean volume of the hold's second half.
        hold = [row for row in _thermo(folder) if row["stage"] == "hold"]
        mean_volume = np.mean([float(row["volume_A3"]) for row in hold[len(hold) // 2:]])
        with open_trajectory(folder / "trajectory.h5md") as trajectory:
            assert trajectory.natoms == 250 and len(trajectory) == 401
            assert trajectory.steps[0] == 1000 and set(np.diff(trajectory.steps)) == {5}
            assert trajectory.frame(200).volume_A3 == pytest.approx(mean_volume, rel=1e-9)
    for name in ("summary.md", "diffusion.csv", "conductivity.csv", "arrhenius.json", "arrhenius.png"):
        assert (run / "analysis" / name).stat().st_size > 0
    assert "Ea" in (run / "analysis" / "summary.md").read_text()

    # A finished run resumes to nothing but the analysis.
    started = {t: json.loads((run / f"T{t}K" / "run_summary.json").read_text())["started"] for t in ("1900", "2300")}
    again = run_cli("diffusion", str(config), "--resume", "--no-progress", np_ranks=2, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "MD finished already" in again.stderr
    for t, value in started.items():
        assert json.loads((run / f"T{t}K" / "run_summary.json").read_text())["started"] == value

    # A resume with a changed config is refused before anything is touched.
    changed = _config(tmp_path / "changed.yaml", seed=6)
    refused = run_cli("diffusion", str(changed), "--resume", "--no-progress", cwd=tmp_path)
    assert refused.returncode == 2 and "first difference: 'protocol.seed'" in refused.stderr
    assert json.loads((run / "diffusion_config.json").read_text())["seed"] == 5


def _kill_during_production(config: Path, state: Path, timeout_s: float = 300) -> dict:
    command = [str(BIN / "mpirun"), "-np", "2", str(BIN / "simkit"), "diffusion", str(config), "--no-progress"]
    process = subprocess.Popen(command, cwd=config.parent, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline, seen = time.monotonic() + timeout_s, None
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                seen = json.loads(state.read_text())["checkpoint"]
            except (OSError, ValueError, KeyError):
                seen = None
            # Segments: velocities, ramp, hold, rescale, production.
            if seen and seen["segment"] == PRODUCTION and not seen["segment_complete"] and seen["step"] >= 2000:
                os.killpg(process.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
    finally:
        if process.poll() is None and time.monotonic() >= deadline:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed in production"
    return seen


@pytest.mark.mpi
@pytest.mark.slow
def test_killed_temperature_resumes_where_it_stopped(tmp_path):
    config = _config(tmp_path / "diffusion.yaml", schedule={"kind": "sequential"},
                     production={"duration_ps": 5.0, "trajectory_every": 5, "thermo_every": 50})
    run = tmp_path / "run"
    second = run / "T2300K"
    checkpoint = _kill_during_production(config, second / "checkpoints" / "state.json")
    first_started = json.loads((run / "T1900K" / "run_summary.json").read_text())["started"]
    with open_trajectory(second / "trajectory.h5md") as trajectory:
        kept = trajectory.steps <= checkpoint["step"]
        before = trajectory.positions(np.nonzero(kept)[0])

    refused = run_cli("diffusion", str(config), "--no-progress", cwd=tmp_path)
    assert refused.returncode == 2 and "holds an unfinished run" in refused.stderr

    resumed = run_cli("diffusion", str(config), "--resume", "--no-progress", np_ranks=2, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / "T1900K" / "run_summary.json").read_text())["started"] == first_started
    assert not list((run / "T1900K").glob("lammps.resume*.log"))
    state = json.loads((second / "checkpoints" / "state.json").read_text())
    assert state["finished"] and [a["resumed_from_step"] for a in state["attempts"]] == [None, checkpoint["step"]]
    assert (second / "lammps.resume1.log").is_file()
    steps = [int(row["step"]) for row in _thermo(second)]
    assert all(b > a for a, b in zip(steps, steps[1:])), "thermo rows repeated or out of order"
    with open_trajectory(second / "trajectory.h5md") as trajectory:
        assert trajectory.steps[0] == 1000 and trajectory.steps[-1] == 3500 and set(np.diff(trajectory.steps)) == {5}
        np.testing.assert_array_equal(trajectory.positions(np.arange(len(before))), before)
        positions = trajectory.positions(slice(None))
    # No jump where the run was continued: frame-to-frame moves there look like everywhere else.
    moves = np.abs(np.diff(positions, axis=0)).max(axis=(1, 2))
    at_resume = len(before) - 1
    assert moves[at_resume] < 3 * np.median(moves)
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["status"] == "finished"
    fits = summary["results"]["arrhenius"]["diffusion"]
    assert set(fits) == {"Cu", "Ni"} and all(np.isfinite(f["activation_eV"]) for f in fits.values())


def test_mobile_species_missing_from_the_structure_is_one_line(tmp_path):
    config = _config(tmp_path / "diffusion.yaml", mobile_species=["Li"], conductivity={"charges_e": {"Li": 1.0}})
    result = run_cli("diffusion", str(config), "--no-progress", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "no atoms of mobile species ['Li']" in result.stderr
    assert "Traceback" not in result.stderr


def test_constant_volume_equilibration_and_langevin_production_in_process(tmp_path):
    from simkit.config import load_config
    from simkit.diffusion.config import DiffusionConfig
    from simkit.diffusion.driver import run_diffusion

    config = load_config(DiffusionConfig, _config(
        tmp_path / "diffusion.yaml", temperatures_K=[2300], checkpoint_every=None,
        structure={"bulk": {"element": "CuNi", "crystal": "cesiumchloride", "a_A": 2.87, "cubic": True},
                   "repeat": [4, 4, 4]},
        equilibration={"start_K": 2300, "ramp_ps": 0, "hold_ps": 0.5, "pressure_bar": None, "thermo_every": 25},
        production={"duration_ps": 2.0, "trajectory_every": 5, "thermostat": "langevin"},
    ))
    summary = run_diffusion(config, None, progress=False)
    assert summary["status"] == "finished"
    folder = tmp_path / "run" / "T2300K"
    rows = _thermo(folder)
    assert {row["stage"] for row in rows} == {"hold", "production"}
    volumes = np.array([float(row["volume_A3"]) for row in rows])
    np.testing.assert_allclose(volumes, 64 * 2.87**3, rtol=1e-12)  # constant volume, never rescaled
    temperatures = [float(row["temperature_K"]) for row in rows if row["stage"] == "production"]
    assert 1900 < np.mean(temperatures) < 2700  # the Langevin thermostat holds T
    with open_trajectory(folder / "trajectory.h5md") as trajectory:
        assert len(trajectory) == 201 and trajectory.steps[0] == 250
    assert summary["results"]["per_temperature"]["2300"]["species"]["Cu"]["tracer"]["D_cm2_per_s"] > 0
