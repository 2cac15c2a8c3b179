"""``simkit md`` with an extrapolation limit: the run stops where the ACE potential leaves its domain."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from ase.io import read, write

from simkit.drivers.md.extrapolation import EXTRAPOLATION_STRUCTURE
from simkit.runtime.outputs import RUN_SUMMARY, THERMO_CSV
from tests.ace import gamma_helpers
from tests.conftest import run_cli
from tests.md.protocols import write_protocol


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A random (unfitted) ACE with an active set from rattled cells, and a starting cell."""
    directory = tmp_path_factory.mktemp("graded")
    yace, plugin_file = gamma_helpers.graded_model(directory)
    cell = directory / "cell.extxyz"
    write(cell, gamma_helpers.cell())
    return {"yace": str(yace), "activeset": str(plugin_file), "cell": str(cell)}


def protocol(graded, out, max_gamma, temperature_K, **potential):
    return {
        "output_dir": str(out), "seed": 3, "structure": {"file": graded["cell"]},
        "potential": {"kind": "ace", "yace": graded["yace"], "activeset": graded["activeset"], **potential},
        "timestep_fs": 1.0, "thermo_every": 7, "checkpoint_every": 50,
        "extrapolation": {"max_gamma": max_gamma, "every_steps": 10},
        "stages": [{"stage": "velocity", "name": "init", "temperature_K": temperature_K},
                   {"stage": "nvt", "name": "hot", "duration_ps": 0.3, "temperature_K": temperature_K}],
    }


def test_the_run_stops_at_the_first_graded_step_past_max_gamma_and_keeps_its_records(graded, tmp_path):
    out = tmp_path / "run"
    config = write_protocol(tmp_path / "md.yaml", protocol(graded, out, 3.0, 1500))
    result = run_cli("md", str(config))
    assert result.returncode == 5, result.stdout + result.stderr
    assert "exceeded max_gamma 3" in result.stderr and "Traceback" not in result.stderr
    summary = json.loads((out / RUN_SUMMARY).read_text())
    exceeded = summary["results"]["extrapolation"]["exceeded"]
    assert exceeded["step"] % 10 == 0 and exceeded["gamma"] > 3.0
    cell = read(out / EXTRAPOLATION_STRUCTURE)
    assert cell.arrays["gamma"].max() == pytest.approx(exceeded["gamma"])
    assert cell.info["step"] == exceeded["step"]
    # every graded step before it was below the limit, and the thermo rows up to it are kept
    assert summary["results"]["extrapolation"]["checks"] == exceeded["step"] // 10 + 0
    thermo = pd.read_csv(out / THERMO_CSV)
    assert thermo["step"].max() <= exceeded["step"] and len(thermo) >= exceeded["step"] // 7


def test_a_run_within_the_limit_reports_the_highest_grade(graded, tmp_path):
    out = tmp_path / "run"
    config = write_protocol(tmp_path / "md.yaml", protocol(graded, out, 1e9, 50))
    result = run_cli("md", str(config))
    report = json.loads((out / RUN_SUMMARY).read_text())["results"].get("extrapolation")
    assert report is not None, result.stderr
    assert report["exceeded"] is None and report["checks"] == 30 and report["highest_gamma"] > 0
    assert not (out / EXTRAPOLATION_STRUCTURE).exists()


def test_a_limit_without_an_active_set_is_refused_before_anything_runs(graded, tmp_path):
    data = protocol(graded, tmp_path / "run", 3.0, 300)
    del data["potential"]["activeset"]
    result = run_cli("md", str(write_protocol(tmp_path / "md.yaml", data)))
    assert result.returncode == 2 and "needs an ACE potential with an active set" in result.stderr
    assert not (tmp_path / "run").exists()
