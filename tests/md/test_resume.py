"""Kill an mpirun'd protocol mid-stage (SIGKILL), resume it: same result, continuous records."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

from simkit.io import open_trajectory
from tests.conftest import BIN, run_cli
from tests.md.protocols import reset_protocol, write_protocol

PULSE = 2  # segment index of the heat pulse


def _protocol(out):
    # A 4 ps pulse (2000 steps) with a checkpoint every 100 steps: many chances to kill it mid-stage.
    protocol = reset_protocol(out, checkpoint_every=100)
    protocol["stages"][PULSE]["duration_ps"] = 4
    return protocol


def _kill_mid_pulse(config, state_path, thermo_path, timeout_s=300):
    command = [str(BIN / "mpirun"), "-np", "2", str(BIN / "simkit"), "md", str(config)]
    # Own session: the kill reaches mpirun and every rank it started.
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    checkpoint = None
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                checkpoint = json.loads(state_path.read_text())["checkpoint"]
                rows = len(thermo_path.read_text().splitlines()) - 1
            except (OSError, ValueError, KeyError, TypeError):
                checkpoint = None
            # Mid-pulse, and with rows written after the checkpoint (they must be dropped on resume).
            if checkpoint and checkpoint["segment"] == PULSE and not checkpoint["segment_complete"] \
                    and rows > checkpoint["thermo_rows"]:
                os.killpg(process.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
    finally:
        if process.poll() is None and time.monotonic() >= deadline:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed mid-pulse"
    return checkpoint


@pytest.mark.mpi
@pytest.mark.slow
def test_killed_run_resumes_to_the_same_result(tmp_path):
    reference = tmp_path / "reference"
    killed = tmp_path / "killed"
    config = write_protocol(tmp_path / "killed.yaml", _protocol(killed))
    checkpoint = _kill_mid_pulse(config, killed / "checkpoints" / "state.json", killed / "thermo.csv")
    assert checkpoint["segment_begin_step"] < checkpoint["step"] < checkpoint["segment_begin_step"] + 2000

    # A fresh start would overwrite the unfinished run: refused, nothing touched.
    refused = run_cli("md", str(config))
    assert refused.returncode == 2 and "--resume" in refused.stderr, refused.stderr
    # A changed protocol cannot resume it; the message names what changed.
    changed = _protocol(killed)
    changed["stages"][PULSE]["energy_eV"] = 500
    changed_config = write_protocol(tmp_path / "changed.yaml", changed)
    refused = run_cli("md", str(changed_config), "--resume")
    assert refused.returncode == 2 and "protocol.stages[2].energy_eV" in refused.stderr, refused.stderr

    resumed = run_cli("md", str(config), "--resume", np_ranks=2)
    assert resumed.returncode == 0, resumed.stderr
    finished = run_cli("md", str(write_protocol(tmp_path / "reference.yaml", _protocol(reference))), np_ranks=2)
    assert finished.returncode == 0, finished.stderr

    # Nose-Hoover, NVE and ehex are deterministic and their state is in the restart file:
    # on the same rank count the resumed run is bitwise the uninterrupted one.
    ours, theirs = pd.read_csv(killed / "thermo.csv"), pd.read_csv(reference / "thermo.csv")
    assert ours["step"].is_unique and list(ours["step"]) == list(theirs["step"])
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_csv(killed / "profiles.csv"), pd.read_csv(reference / "profiles.csv"),
                                  check_exact=True)

    with open_trajectory(killed / "trajectory.h5md") as a, open_trajectory(reference / "trajectory.h5md") as b:
        assert list(a.steps) == list(b.steps) == list(range(0, 2751, 250))  # no duplicated or missing frames
        assert np.array_equal(a.frame(-1).positions_A, b.frame(-1).positions_A)
        observed = a.observables()["total_energy"]
        assert np.all(np.diff(observed["step"]) > 0)
        assert np.array_equal(observed["value"], b.observables()["total_energy"]["value"])
        assert [p["_segment"]["resumed_after_step"] for p in a.provenance()] == [-1, checkpoint["step"]]
        # the killed segment is marked so, the resumed one finished: the file never claims "running" afterwards
        assert [p["_segment"]["status"] for p in a.provenance()] == ["interrupted", "finished"]
        assert [p["status"] for p in b.provenance()] == ["finished"]
        assert "step 0 of the protocol" in a.time_origin and a.times_ps[0] == 0.0
        # frames every 250 steps
        assert np.allclose(np.diff(a.times_ps), a.times_ps[1])

    summary = json.loads((killed / "run_summary.json").read_text())
    assert summary["status"] == "finished"
    assert [a["resumed_from_step"] for a in summary["results"]["attempts"]] == [None, checkpoint["step"]]
    assert summary["results"]["heat"][0]["delivered_eV"] == pytest.approx(
        json.loads((reference / "run_summary.json").read_text())["results"]["heat"][0]["delivered_eV"], abs=1e-9)
    assert [s["label"] for s in summary["results"]["segments"]] == ["init", "equilibrate", "reset", "spread"]
    assert (killed / "lammps.resume1.log").is_file()

    for again in (run_cli("md", str(config), "--resume"), run_cli("md", "--resume", str(killed))):
        assert again.returncode == 0 and "finished already" in again.stderr, again.stderr  # nothing left to do


TINY = """\
output_dir: {out}
structure: {{bulk: {{element: Si, crystal: diamond, a_A: 5.431, cubic: true}}}}
potential: {{kind: snap, coeff: lammps:Si_Zuo_JPCA2020.snapcoeff, param: lammps:Si_Zuo_JPCA2020.snapparam}}
checkpoint_every: 5
stages:
  - {{stage: velocity, temperature_K: 300}}
  - {{stage: nvt, duration_ps: 0.01, temperature_K: {temperature}}}
"""


@pytest.mark.mpi
def test_resume_with_corrupt_protocol_record_fails_on_every_rank(tmp_path):
    run = tmp_path / "run"
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY.format(out=run, temperature=300))
    assert run_cli("md", str(config)).returncode == 0
    state_path = run / "checkpoints" / "state.json"
    state = json.loads(state_path.read_text())
    state_path.write_text(json.dumps(state | {"finished": False}))  # as if killed after its last checkpoint
    (run / "checkpoints" / "protocol.json").write_text('{"protocol": {')
    changed = tmp_path / "changed.yaml"  # a changed protocol makes rank 0 read protocol.json to name the change
    changed.write_text(TINY.format(out=run, temperature=310))
    for args in (["--resume", str(run)], [str(changed), "--resume"]):
        result = run_cli("md", *args, np_ranks=2, timeout=120)  # rank 1 used to wait forever
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert lines[0].startswith("simkit md: error:") and "protocol.json: unreadable protocol record" in lines[0]
