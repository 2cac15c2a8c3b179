"""simkit diffusion killed at 20 seeded random moments and resumed each time ends as the uninterrupted run:
no temperature, thermo row or frame lost or written twice, the same diffusion coefficients."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from simkit.io import open_trajectory
from tests.conftest import BIN, run_cli
from tests.diffusion.test_md import _config
from tests.kill_anywhere import kill_anywhere

KILLS = 20
TEMPERATURES = ("T1900K", "T2300K")


def _rows(path):
    with path.open() as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_diffusion_killed_anywhere_resumes_to_the_uninterrupted_result(tmp_path):
    # 250 CuNi atoms, two temperatures one after the other, 16 ps of production each (~4 s on one core).
    options = dict(schedule={"kind": "sequential"},
                   production={"duration_ps": 16.0, "trajectory_every": 50, "thermo_every": 50})
    killed_dir, reference_dir = tmp_path / "killed", tmp_path / "reference"
    killed_dir.mkdir()
    reference_dir.mkdir()
    config = _config(killed_dir / "diffusion.yaml", **options)
    simkit = str(BIN / "simkit")
    record = kill_anywhere([simkit, "diffusion", str(config), "--no-progress"],
                           [simkit, "diffusion", str(config), "--resume", "--no-progress"],
                           lambda: (killed_dir / "run" / "diffusion_config.json").is_file(),
                           kills=KILLS, seed=7, delay_s=(0.5, 3.0), cwd=killed_dir)
    assert len(record.kills) == KILLS, record
    done = run_cli("diffusion", str(_config(reference_dir / "diffusion.yaml", **options)), "--no-progress",
                   cwd=reference_dir)
    assert done.returncode == 0, done.stderr

    # A barostat's restart is not bitwise (round-off differs from the first resume on, then grows): the
    # record must have every row and frame exactly once, and the same diffusion within its uncertainty.
    for name in TEMPERATURES:
        ours, theirs = killed_dir / "run" / name, reference_dir / "run" / name
        rows, reference_rows = _rows(ours / "thermo.csv"), _rows(theirs / "thermo.csv")
        assert [(r["stage"], r["step"]) for r in rows] == [(r["stage"], r["step"]) for r in reference_rows]
        assert rows[0] == reference_rows[0]
        with open_trajectory(ours / "trajectory.h5md") as a, open_trajectory(theirs / "trajectory.h5md") as b:
            assert list(a.steps) == list(b.steps)
    ours = json.loads((killed_dir / "run" / "run_summary.json").read_text())
    theirs = json.loads((reference_dir / "run" / "run_summary.json").read_text())
    assert ours["status"] == "finished" and set(ours["results"]["temperatures"].values()) == {"finished"}
    for temperature, result in ours["results"]["per_temperature"].items():
        for species, values in result["species"].items():
            a = values["tracer"]
            b = theirs["results"]["per_temperature"][temperature]["species"][species]["tracer"]
            combined = np.hypot(a["D_err_A2_per_ps"], b["D_err_A2_per_ps"])
            assert abs(a["D_A2_per_ps"] - b["D_A2_per_ps"]) < 4 * combined, (temperature, species, a, b)
