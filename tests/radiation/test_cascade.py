"""``simkit cascade``: an Fe cascade end to end under mpirun with stopping and a border thermostat; a
killed campaign that resumes without losing finished cascades; refusals naming the key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest
import yaml

from simkit.config import load_config
from simkit.io.trajectory import open_trajectory
from simkit.radiation.cascade import cascade_cell
from simkit.radiation.cascade_report import CASCADE_JSON, CASCADES_CSV, DEFECTS_ENERGY_PNG, DEFECTS_TIME_PNG
from simkit.radiation.config import CascadeConfig
from simkit.radiation.jobs import cascade_job
from simkit.structures.spec import load_structure
from tests.conftest import BIN, run_cli, run_python_mpi
from tests.fuzz.harness import run_in_process
from tests.one_rank_fault import MESSAGE, fault_script


def _config(tmp_path, **changes) -> dict:
    data = {
        "output_dir": str(tmp_path / "cascade"),
        "seed": 3,
        "potential": {"kind": "eam/fs", "file": "lammps:Fe_mm.eam.fs"},
        "structure": {"bulk": {"element": "Fe", "crystal": "bcc", "a_A": 2.855, "cubic": True}},
        "pka": {"species": "Fe"},
        "energies_eV": [300],
        "directions": ["1 3 5"],
        "repeats": 1,
        "temperature_K": 300,
        "equilibration": {"duration_ps": 0.5},
        "cascade": {"duration_ps": 1.5, "defects_every_ps": 0.1, "frames_every_ps": 0.5},
        "border": {"width_A": 3.0, "thermostat": "langevin", "damping_fs": 100},
        "electronic_stopping": {"model": "lindhard-scharff", "min_energy_eV": 10},
    }
    data.update(changes)
    return data


def _write(tmp_path, data, name="cascade.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.slow
@pytest.mark.mpi
def test_cascade_runs_under_mpirun_with_stopping_and_border(tmp_path):
    config = _write(tmp_path, _config(tmp_path))
    done = run_cli("cascade", config, np_ranks=2, timeout=900)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "cascade"
    summary = json.loads((out / CASCADE_JSON).read_text())
    assert summary["cascades"] == 1 and not summary["failed_cascades"]
    data = summary["energies"]["300"]
    (row,) = [json.loads(p.read_text()) for p in (out / "results").glob("cascade_*.json")]
    assert row["ranks"] == 2
    assert row["atoms"] >= 3000  # 10 atoms per eV
    assert 0 < row["electronic_loss_eV"] < 300
    assert row["peak_frenkel_pairs"] >= row["final"]["frenkel_pairs"]
    assert row["peak_frenkel_pairs"] > 0
    assert row["border_atoms"] > 0
    assert data["estimates"]["nrt_frenkel_pairs"] > 0
    assert data["cloud_shape"]["semi_axis_1_A"]["mean"] >= data["cloud_shape"]["semi_axis_3_A"]["mean"] > 0
    assert row["series"]["time_ps"][-1] == pytest.approx(1.5, abs=0.05)
    for name in (CASCADES_CSV, DEFECTS_TIME_PNG, DEFECTS_ENERGY_PNG, "electronic_stopping.table"):
        assert (out / name).is_file(), name
    with open_trajectory(row["frames"]) as frames:
        assert len(frames) >= 3 and frames.natoms == row["atoms"]
        # gathered on rank 0 from both ranks' atoms, on the knock's clock
        first, last = frames.frame(0), frames.frame(len(frames) - 1)
        assert first.time_ps == pytest.approx(0.0) and last.time_ps == pytest.approx(1.5, abs=0.05)
        assert "knock" in frames.time_origin
        assert sorted(set(first.symbols)) == ["Fe"] and np.isfinite(last.positions_A).all()
        assert last.images is not None  # LAMMPS's image flags, so unwrapped displacements are exact


@pytest.mark.slow
def test_a_killed_campaign_resumes_without_losing_finished_cascades(tmp_path):
    data = _config(tmp_path, energies_eV=[100], repeats=4, cell={"atoms_per_eV": 10},
                   cascade={"duration_ps": 1.0, "defects_every_ps": 0.2})
    config = _write(tmp_path, data)
    results = tmp_path / "cascade" / "results"
    process = subprocess.Popen([str(BIN / "simkit"), "cascade", config], cwd=tmp_path, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not list(results.glob("cascade_*.json")):
            assert process.poll() is None, "the campaign ended before it could be killed"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    kept = {p.name: p.read_text() for p in results.glob("cascade_*.json")}
    assert 1 <= len(kept) < 4
    refused = run_cli("cascade", config)
    assert refused.returncode != 0 and "--resume" in refused.stderr
    done = run_cli("cascade", config, "--resume", timeout=900)
    assert done.returncode == 0, done.stderr
    after = {p.name: p.read_text() for p in results.glob("cascade_*.json")}
    assert len(after) == 4
    assert all(after[name] == text for name, text in kept.items())
    summary = json.loads((tmp_path / "cascade" / CASCADE_JSON).read_text())
    assert summary["cascades"] == 4


def test_the_cell_grows_with_the_energy_and_a_small_given_cell_is_refused(tmp_path):
    config = load_config(CascadeConfig, _write(tmp_path, _config(tmp_path, energies_eV=[100, 1000])))
    cell = cascade_cell(load_structure(config.structure), config)
    assert len(cell) >= 10 * 1000 and len(cell) == 2 * 18**3  # ceil((10,000 / 2) ** (1/3)) = 18 cubic cells a side
    ended = run_in_process(["cascade", _write(tmp_path, _config(
        tmp_path, energies_eV=[1000], structure={**_config(tmp_path)["structure"], "repeat": [4, 4, 4]}))])
    assert ended.code != 0 and "structure.repeat" in ended.stderr, ended.stderr


@pytest.mark.parametrize("change, named", [
    ({"energies_eV": [-10]}, "energies_eV"),
    ({"energies_eV": [0]}, "energies_eV"),
    ({"directions": ["0 0 0"]}, "directions"),
    ({"directions": [[0, 0, 0]]}, "directions"),
    ({"pka": {"index": 10**7}}, "pka.index"),
    ({"pka": {"species": "W"}}, "pka.species"),
    ({"electronic_stopping": {"model": "table"}}, "electronic_stopping"),
    ({"border": {"width_A": 0}}, "border.width_A"),
    ({"temperature_K": 0}, "temperature_K"),
])
def test_bad_input_is_refused_naming_the_key(tmp_path, change, named):
    ended = run_in_process(["cascade", _write(tmp_path, _config(tmp_path, **change))])
    assert ended.code != 0
    assert named in ended.stderr, ended.stderr
    assert "Traceback" not in ended.stderr


def test_a_bad_stopping_table_is_refused_naming_the_file(tmp_path):
    table = tmp_path / "stopping.txt"
    table.write_text("# energy_eV  Fe\n10 0.5\n5 0.7\n")
    data = _config(tmp_path, electronic_stopping={"model": "table", "table": str(table)})
    ended = run_in_process(["cascade", _write(tmp_path, data)])
    assert ended.code != 0 and "stopping.txt" in ended.stderr, ended.stderr
    assert "Traceback" not in ended.stderr


@pytest.mark.slow
@pytest.mark.mpi
def test_an_analysis_failing_on_one_rank_stops_both_ranks(tmp_path):
    script = tmp_path / "one_rank_fails.py"
    script.write_text(fault_script(patch="simkit.radiation.cascade:wigner_seitz", on_call=3,
                                   job="simkit.radiation.jobs:cascade_job", config="simkit.radiation.config:CascadeConfig"))
    config = _write(tmp_path, _config(tmp_path, energies_eV=[100],
                                      cascade={"duration_ps": 1.0, "defects_every_ps": 0.1}))
    done = run_python_mpi(script, 2, config, timeout=300)  # rank 1 would wait inside LAMMPS forever
    assert done.returncode != 0
    assert done.stdout.count("stopped:") == 2 and MESSAGE in done.stdout, done.stdout


@pytest.mark.slow
def test_the_two_temperature_model_takes_heat_from_the_cascade(tmp_path):
    ttm = {"electronic_specific_heat_eV_per_K": 3.0e-4, "electron_density_per_A3": 0.0848,
           "electronic_conductivity_eV_per_ps_A_K": 0.1, "electron_phonon_friction_amu_per_ps": 6.0,
           "electronic_stopping_friction_amu_per_ps": 10.0, "stopping_velocity_A_per_ps": 50.0, "grid": [4, 4, 4]}
    data = _config(tmp_path, energies_eV=[200], electronic_stopping=None, ttm=ttm,
                   cascade={"duration_ps": 0.6, "defects_every_ps": 0.2})
    summary = cascade_job(load_config(CascadeConfig, _write(tmp_path, data)))
    (row,) = [json.loads(p.read_text()) for p in (tmp_path / "cascade" / "results").glob("cascade_*.json")]
    assert row["electronic_model"] == "two-temperature"
    # The electrons start at the lattice's 300 K and gain heat from the hot cascade core, far less than E_PKA.
    assert 0 < row["electronic_loss_eV"] < 200
    assert summary["cascades"] == 1


def test_ttm_and_friction_stopping_together_are_refused(tmp_path):
    ttm = {"electronic_specific_heat_eV_per_K": 3.0e-4, "electron_density_per_A3": 0.0848,
           "electronic_conductivity_eV_per_ps_A_K": 0.1, "electron_phonon_friction_amu_per_ps": 6.0}
    ended = run_in_process(["cascade", _write(tmp_path, _config(tmp_path, ttm=ttm))])
    assert ended.code != 0 and "electronic_stopping: null" in ended.stderr, ended.stderr
