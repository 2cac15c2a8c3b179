"""``simkit bench predict``: the fitted model against synthetic scans with known constants, the protocol's
steps and frames, and the command's outputs and errors."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from simkit.bench.predict import PredictConfig, RowStatus, predict
from simkit.bench.predict_model import PotentialScaling, fit_comm, fit_model
from simkit.bench.predict_protocol import ProtocolSpec, protocol_cost
from simkit.bench.scaling_report import COLUMNS, read_csv
from simkit.errors import InputDataError
from tests.conftest import REPO, run_cli

STEPS = 20  # of one timed run
THESIS_ATOMS = 532980


def _row(potential, mode, ranks, natoms, t_atom, c, latency, rate_scale=1.0):
    """A scan row whose timings follow the model exactly (1 rank: throughput 1/t_atom)."""
    per_step = natoms * t_atom / ranks + (c * (natoms / ranks) ** (2 / 3) + latency * math.log2(ranks)
                                          if ranks > 1 else 0.0)
    rate = natoms / per_step * rate_scale
    loop = natoms * STEPS / rate
    comm = STEPS * (per_step - natoms * t_atom / ranks)
    return {"potential": potential, "mode": mode, "ranks": ranks, "target_atoms": natoms, "natoms": natoms,
            "atoms_per_rank": natoms / ranks, "status": "ok", "atom_steps_per_s": rate,
            "lammps_atom_steps_per_s": rate, "loop_time_s": loop, "pair_s": loop - comm, "neigh_s": 0.0,
            "comm_s": comm, "output_s": 0.0, "modify_s": 0.0, "other_s": 0.0}


def _scan(potential, t_atom, c, latency):
    rows = [_row(potential, "strong", 1, 1000, t_atom, c, latency),
            _row(potential, "weak", 1, 1000, t_atom, c, latency, rate_scale=1.25),  # median of 1/rate over 3
            _row(potential, "weak", 1, 1000, t_atom, c, latency, rate_scale=0.8)]
    rows += [_row(potential, "strong", n, 4000, t_atom, c, latency) for n in (2, 4, 8, 16)]
    rows += [_row(potential, "weak", n, 1000 * n, t_atom, c, latency) for n in (2, 4, 8)]
    rows.append({"potential": potential, "mode": "strong", "ranks": 32, "target_atoms": 4000, "status": "failed",
                 "reason": "too many ranks for the cell"})
    return rows


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in COLUMNS})
    return path


TEACHER = dict(t_atom=2.0e-3, c=3.0e-5, latency=4.0e-4)
STUDENT = dict(t_atom=5.0e-5, c=1.0e-5, latency=2.0e-4)


@pytest.fixture
def scan_csv(tmp_path):
    return _write_csv(tmp_path / "scaling.csv", _scan("ace-teacher", **TEACHER) + _scan("snap-student", **STUDENT))


def _config(tmp_path, scan_csv, **extra) -> dict:
    data = {
        "output_dir": str(tmp_path / "out"),
        "protocol": {"atoms": THESIS_ATOMS, "timestep_fs": 2.0, "stages": [
            {"name": "reset", "duration_ps": 10, "frame_every_ps": 1},
            {"name": "reset-cool", "duration_ps": 40, "frame_every_ps": 1},
            {"name": "set", "duration_ps": 20000, "frame_every_ps": 1},
            {"name": "reset2", "duration_ps": 40, "frame_every_ps": 1},
            {"name": "reset2-cool", "duration_ps": 30, "frame_every_ps": 1}]},
        "potentials": [{"name": "teacher", "scaling_csv": str(scan_csv), "potential": "ace-teacher"},
                       {"name": "student", "scaling_csv": str(scan_csv), "potential": "snap-student"}],
        "io": {"seconds_per_frame": 2.5, "bytes_per_frame": 1.3e7},
        "cores": [2, 64, 1024, 4096, 8192],
    }
    data.update(extra)
    return data


def _expected_wall_s(constants, atoms, cores, steps, frames, io_s):
    comm = 0.0 if cores == 1 else constants["c"] * (atoms / cores) ** (2 / 3) + constants["latency"] * math.log2(cores)
    return steps * (atoms * constants["t_atom"] / cores + comm) + frames * io_s


def test_fit_recovers_the_constants_and_the_timed_steps(scan_csv):
    rows = read_csv(scan_csv)
    spec = PotentialScaling(name="t", scaling_csv=scan_csv, potential="ace-teacher")
    model = fit_model(spec, 0, rows)
    assert model.t_atom_s == pytest.approx(TEACHER["t_atom"], rel=1e-12)
    assert model.comm_c_s == pytest.approx(TEACHER["c"], rel=1e-9)
    assert model.latency_s == pytest.approx(TEACHER["latency"], rel=1e-9)
    assert model.timed_steps == STEPS and "derived from the CSV" in model.timed_steps_source
    assert model.fit == "least squares over 7 multi-rank points"
    assert model.sections_s_per_atom_step == pytest.approx(TEACHER["t_atom"], rel=1e-9)
    atoms, n = 532980, 256
    expected = atoms * TEACHER["t_atom"] / n + TEACHER["c"] * (atoms / n) ** (2 / 3) + TEACHER["latency"] * 8
    assert model.s_per_step(atoms, n) == pytest.approx(expected, rel=1e-9)
    assert model.comm_s_per_step(atoms, 1) == 0.0
    # The number of timed steps matters: comm per step is comm_s / steps.
    doubled = fit_model(spec.model_copy(update={"timed_steps": 2 * STEPS}), 0, rows)
    assert doubled.comm_c_s == pytest.approx(TEACHER["c"] / 2, rel=1e-9)
    assert "config key 'potentials[0].timed_steps'" == doubled.timed_steps_source


def test_timed_steps_from_the_scan_summary_or_refused(tmp_path, scan_csv):
    rows = read_csv(scan_csv)
    spec = PotentialScaling(name="t", scaling_csv=scan_csv, potential="ace-teacher")
    (tmp_path / "run_summary.json").write_text(json.dumps({"command": "bench scaling",
                                                           "config": {"timing": {"steps": 40}}}))
    model = fit_model(spec, 0, rows)
    assert model.timed_steps == 40 and "run_summary.json" in model.timed_steps_source
    (tmp_path / "run_summary.json").unlink()
    for row in rows:
        row["lammps_atom_steps_per_s"] = ""
    with pytest.raises(InputDataError, match=r"scaling\.csv.*potentials\[3\]\.timed_steps"):
        fit_model(spec, 3, rows)


def test_comm_fit_with_one_point_or_a_negative_latency():
    c, latency, how = fit_comm(np.array([100.0]), np.array([1.0]), np.array([0.02]))
    assert (c, latency) == (pytest.approx(2e-4), 0.0) and "one multi-rank point" in how
    # Two points on 2 ranks whose straight line crosses zero below the origin (the 2-core record's shape):
    x = np.array([500.0, 1008.0]) ** (2 / 3)
    y = np.array([0.0133, 0.0246])
    c, latency, how = fit_comm(x, np.array([1.0, 1.0]), y)
    assert latency == 0.0 and c == pytest.approx(x @ y / (x @ x)) and "latency held at 0" in how


def test_prediction_follows_the_formula_and_marks_the_strong_scaling_limit(tmp_path, scan_csv):
    config = PredictConfig.model_validate(_config(tmp_path, scan_csv))
    prediction = predict(config)
    steps, frames = prediction.protocol.steps, prediction.protocol.frames
    assert (steps, frames) == (10_060_000, 20_120)
    by_cores = {row.cores: row for row in prediction.rows}
    # 532980 / 8192 = 65 atoms per core < 100
    assert by_cores[8192].status == RowStatus.BEYOND_LIMIT and by_cores[8192].estimates == {}
    assert by_cores[4096].status == RowStatus.OK
    for name, constants in (("teacher", TEACHER), ("student", STUDENT)):
        walls = {n: _expected_wall_s(constants, THESIS_ATOMS, n, steps, frames, 2.5) for n in (2, 64, 1024, 4096)}
        for n, wall in walls.items():
            estimate = by_cores[n].estimates[name]
            assert estimate.wall_s == pytest.approx(wall, rel=1e-9)
            assert estimate.efficiency == pytest.approx(walls[2] * 2 / (wall * n), rel=1e-9)
    assert by_cores[2].estimates["teacher"].efficiency == 1.0
    ratio = prediction.ratios(by_cores[64])["teacher/student"]
    assert ratio == pytest.approx(by_cores[64].estimates["teacher"].wall_s / by_cores[64].estimates["student"].wall_s)
    # A larger floor moves the limit
    config.min_atoms_per_rank = 1000
    assert [r.status for r in predict(config).rows].count(RowStatus.BEYOND_LIMIT) == 3  # 1024, 4096, 8192


def test_protocol_of_the_pcm_cycle_md_config():
    md = REPO / "inputs" / "md_pcm_cycle.yaml"
    cost = protocol_cost(ProtocolSpec(md_config=md, atoms=THESIS_ATOMS))
    stages = yaml.safe_load(md.read_text())["stages"]
    timed = [s for s in stages if "duration_ps" in s]
    assert cost.steps == sum(round(s["duration_ps"] / 2.0e-3) for s in timed) == 112_500
    # trajectory_every 5000: the starting frame, then every 5000 steps of each stage
    assert cost.frames == 1 + sum(round(s["duration_ps"] / 2.0e-3) // 5000 for s in timed) == 23
    assert [s.name for s in cost.stages] == [s["name"] for s in stages]
    assert cost.stages[0].steps == 0 and cost.stages[0].frames == 1  # velocity: no steps
    assert cost.atoms == THESIS_ATOMS and cost.atoms_source == "config"
    built = protocol_cost(ProtocolSpec(md_config=md))
    assert built.atoms == 3332 and "built from" in built.atoms_source


def test_protocol_of_a_small_md_config_with_stage_overrides(tmp_path):
    md = tmp_path / "md.yaml"
    md.write_text(yaml.safe_dump({
        "output_dir": "out",
        "structure": {"bulk": {"element": "Cu", "crystal": "fcc", "a_A": 3.615, "cubic": True}, "repeat": [2, 2, 2]},
        "potential": {"kind": "eam/alloy", "file": "lammps:Cu_mishin1.eam.alloy"},
        "timestep_fs": 2.0,
        "trajectory_every": 100,
        "stages": [
            {"stage": "velocity", "temperature_K": 300},
            {"stage": "nvt", "name": "a", "duration_ps": 1.0, "temperature_K": 300, "trajectory_every": 0},
            {"stage": "nve", "name": "b", "duration_ps": 1.0, "timestep_fs": 1.0},
            {"stage": "anneal", "name": "c", "duration_ns": 0.001, "temperature_K": 300, "trajectory_every": 250},
        ],
    }))
    cost = protocol_cost(ProtocolSpec(md_config=md))
    assert [(s.name, s.steps, s.timestep_fs, s.frames) for s in cost.stages] == [
        ("0-velocity", 0, 2.0, 1), ("a", 500, 2.0, 0), ("b", 1000, 1.0, 11), ("c", 500, 2.0, 2)]
    assert cost.atoms == 32 and cost.simulated_ps == pytest.approx(3.0)


def test_explicit_stages_protocol():
    spec = ProtocolSpec(atoms=1000, stages=[
        {"name": "heat", "duration_ps": 5, "timestep_fs": 1.0, "frame_every_ps": 0.5},
        {"name": "hold", "duration_ps": 10, "timestep_fs": 2.0}])
    cost = protocol_cost(spec)
    assert [(s.steps, s.frames) for s in cost.stages] == [(5000, 10), (5000, 0)]
    with pytest.raises(ValueError, match="atoms"):
        ProtocolSpec(stages=[{"name": "x", "duration_ps": 1, "timestep_fs": 1}])
    with pytest.raises(ValueError, match="timestep_fs"):
        ProtocolSpec(atoms=10, stages=[{"name": "x", "duration_ps": 1}])


def test_cli_writes_the_outputs_and_the_ratio(tmp_path, scan_csv):
    config = tmp_path / "predict.yaml"
    config.write_text(yaml.safe_dump(_config(tmp_path, scan_csv)))
    out = tmp_path / "elsewhere"
    result = run_cli("bench", "predict", str(config), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "beyond the strong-scaling limit" in result.stdout and "2.5 s per frame" in result.stdout
    for name in ("prediction.json", "prediction.csv", "prediction.md", "prediction.png", "run_summary.json"):
        assert (out / name).is_file() and (out / name).stat().st_size > 100, name
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["command"] == "bench predict"
    assert summary["inputs"][0]["path"] == str(scan_csv.resolve()) and len(summary["inputs"][0]["sha256"]) == 64
    data = json.loads((out / "prediction.json").read_text())
    assert data["inputs"]["files"][0]["sha256"] == summary["inputs"][0]["sha256"]
    assert data["models"]["teacher"]["comm_c_s"] == pytest.approx(TEACHER["c"], rel=1e-9)
    assert data["table"][-1]["status"] == "beyond the strong-scaling limit"
    assert data["table"][-1]["potentials"]["teacher"] is None
    rows = list(csv.DictReader((out / "prediction.csv").read_text().splitlines()))
    assert "teacher_wall_h" in rows[0] and "wall_ratio_teacher_over_student" in rows[0]
    for row in rows[:-1]:
        assert float(row["wall_ratio_teacher_over_student"]) == pytest.approx(
            float(row["teacher_wall_h"]) / float(row["student_wall_h"]), rel=1e-12)
        wall_s = _expected_wall_s(TEACHER, THESIS_ATOMS, int(row["cores"]), 10_060_000, 20_120, 2.5)
        assert float(row["teacher_wall_h"]) == pytest.approx(wall_s / 3600, rel=1e-9)
        assert float(row["teacher_core_h"]) == pytest.approx(wall_s * int(row["cores"]) / 3600, rel=1e-9)
    assert rows[-1]["status"] == "beyond the strong-scaling limit" and rows[-1]["teacher_wall_h"] == ""
    markdown = (out / "prediction.md").read_text()
    assert "serial" in markdown and "| cores | atoms/core |" in markdown


def test_cli_refuses_an_unknown_key_and_an_unknown_potential(tmp_path, scan_csv):
    config = tmp_path / "predict.yaml"
    config.write_text(yaml.safe_dump(_config(tmp_path, scan_csv, io={"seconds_per_frames": 2.5})))
    result = run_cli("bench", "predict", str(config))
    assert result.returncode == 2
    assert "io.seconds_per_frames" in result.stderr and "Traceback" not in result.stderr
    data = _config(tmp_path, scan_csv)
    data["potentials"][1]["potential"] = "snap-studnet"
    config.write_text(yaml.safe_dump(data))
    result = run_cli("bench", "predict", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "potentials[1].potential" in result.stderr and "ace-teacher, snap-student" in result.stderr
    data["potentials"][1]["scaling_csv"] = str(tmp_path / "missing.csv")
    config.write_text(yaml.safe_dump(data))
    result = run_cli("bench", "predict", str(config))
    assert result.returncode == 2 and "potentials[1].scaling_csv" in result.stderr and "missing.csv" in result.stderr


def test_no_one_rank_row_is_refused(tmp_path):
    rows = [r for r in _scan("p", **TEACHER) if r["ranks"] != 1]
    path = _write_csv(tmp_path / "scaling.csv", rows)
    with pytest.raises(InputDataError, match=r"scaling\.csv.*no successful 1-rank row"):
        fit_model(PotentialScaling(name="p", scaling_csv=path, potential="p"), 0, read_csv(path))
