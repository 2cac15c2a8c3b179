"""`mpirun -np 2 simkit diffusion` with a fault on one rank only, mid-production: the whole job ends promptly,
non-zero, with the error printed once, and `--resume` finishes every temperature with no frame lost or twice.

Concurrent temperatures run on one rank each, so the rank that fails is not in a collective with the other
(which is still running its own MD); one after another, both ranks are inside the same LAMMPS run."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from simkit.io import open_trajectory
from tests.conftest import run_cli, run_python_mpi
from tests.diffusion.test_md import _config
from tests.one_rank_fault import MESSAGE, cli_fault_script

EVERY = 10  # production frames
PRODUCTION_PS, TIMESTEP_FS = 0.6, 2.0


@pytest.mark.mpi
@pytest.mark.parametrize("schedule", ["concurrent", "sequential"])
def test_a_fault_on_one_rank_ends_the_job_and_resume_finishes_it(tmp_path, schedule):
    config = _config(tmp_path / "diffusion.yaml", output_dir=str(tmp_path / "run"), schedule={"kind": schedule},
                     temperatures_K=[1900, 2300],
                     structure={"bulk": {"element": "CuNi", "crystal": "cesiumchloride", "a_A": 2.87, "cubic": True},
                                "repeat": [4, 4, 4]},
                     equilibration={"start_K": 2600, "ramp_ps": 0.2, "hold_ps": 0.2, "thermo_every": 25},
                     production={"duration_ps": PRODUCTION_PS, "trajectory_every": EVERY, "thermo_every": 50},
                     checkpoint_every=100)
    script = tmp_path / "fault.py"
    # rank 1 raises a simkit error at its fourth frame: a clear line, from the rank that failed, once
    script.write_text(cli_fault_script(patch="simkit.drivers.md.trajectory:take_snapshot", rank=1, on_call=4,
                                       error="RunFailed"))

    started = time.monotonic()
    done = run_python_mpi(script, 2, "diffusion", str(config), "--no-progress", timeout=240)
    elapsed = time.monotonic() - started
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert elapsed < 180, f"the job took {elapsed:.0f} s to end after a one-rank fault"
    if schedule == "concurrent":
        # the other rank's temperature is its own: it finishes, and the job ends naming the one that failed
        assert f"error: 1 of 2 temperature(s) failed: 2300 K failed: {MESSAGE}" in done.stderr, done.stderr
        assert json.loads((tmp_path / "run" / "T1900K" / "run_summary.json").read_text())["status"] == "finished"
    else:
        # both ranks run each temperature: the rank that failed alone ends the job, its message printed once
        assert done.stderr.count(MESSAGE) == 1 and f"error: [rank 1] {MESSAGE}" in done.stderr, done.stderr

    resumed = run_cli("diffusion", str(config), "--resume", "--no-progress", np_ranks=2, cwd=tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    run = tmp_path / "run"
    summary = json.loads((run / "run_summary.json").read_text())
    assert summary["status"] == "finished"
    assert summary["results"]["temperatures"] == {"1900": "finished", "2300": "finished"}
    production_steps = round(PRODUCTION_PS * 1000 / TIMESTEP_FS)
    for temperature in ("T1900K", "T2300K"):
        with open_trajectory(run / temperature / "trajectory.h5md") as trajectory:
            steps = np.asarray(trajectory.steps)
        # production's frames from its first step to its last, none lost, none twice
        assert set(np.diff(steps)) == {EVERY}, (temperature, steps)
        assert steps[-1] - steps[0] == production_steps, (temperature, steps)
