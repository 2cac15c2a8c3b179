"""simkit md killed at 20 seeded random moments and resumed each time ends exactly as the uninterrupted run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simkit.io import open_trajectory
from tests.conftest import BIN, run_cli
from tests.kill_anywhere import kill_anywhere
from tests.md.protocols import reset_protocol, write_protocol

KILLS = 20


def _protocol(out):
    # 1200 Cu atoms, a 16 ps pulse (8000 steps, ~10 s on one core), a checkpoint every 100 steps.
    protocol = reset_protocol(out, checkpoint_every=100, trajectory_every=500)
    protocol["stages"][2]["duration_ps"] = 16
    return protocol


@pytest.mark.slow
def test_md_killed_anywhere_resumes_to_the_uninterrupted_result(tmp_path):
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    config = write_protocol(tmp_path / "killed.yaml", _protocol(killed))
    simkit = str(BIN / "simkit")
    record = kill_anywhere([simkit, "md", str(config)], [simkit, "md", str(config), "--resume"],
                           lambda: (killed / "checkpoints" / "protocol.json").is_file(),
                           kills=KILLS, seed=2026, delay_s=(0.5, 3.0))
    assert len(record.kills) == KILLS, record

    done = run_cli("md", str(write_protocol(tmp_path / "reference.yaml", _protocol(reference))))
    assert done.returncode == 0, done.stderr
    # Nose-Hoover, NVE and ehex are deterministic and their state is in the restart file: bitwise equal.
    for name in ("thermo.csv", "profiles.csv"):
        ours, theirs = pd.read_csv(killed / name), pd.read_csv(reference / name)
        pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    with open_trajectory(killed / "trajectory.h5md") as a, open_trajectory(reference / "trajectory.h5md") as b:
        assert list(a.steps) == list(b.steps)  # no frame lost or written twice
        assert np.array_equal(a.frame(-1).positions_A, b.frame(-1).positions_A)
        assert np.array_equal(a.observables()["total_energy"]["value"], b.observables()["total_energy"]["value"])
    summary = json.loads((killed / "run_summary.json").read_text())
    assert summary["status"] == "finished"
    assert summary["results"]["heat"][0]["delivered_eV"] == pytest.approx(
        json.loads((reference / "run_summary.json").read_text())["results"]["heat"][0]["delivered_eV"], abs=1e-9)
