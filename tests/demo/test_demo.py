"""The main job at a reduced size, through the same code path as ``simkit demo``.

One run is killed during the SNAP optimisation and continued; a third run
reuses every step; changing the cycle reruns only the cycle and what follows.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from simkit.demo.config import default_config_path
from simkit.demo.runner import FOLDERS, DemoPlan, load_demo_config
from tests.conftest import BIN, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.mpi]


def reduced_config(path: Path, **cycle_changes) -> Path:
    """The embedded default (Sb2Te3), shrunk: fewer frames, candidates, replicas, atoms and picoseconds."""
    data = yaml.safe_load(default_config_path().read_text())
    md = {"timestep_fs": 2}
    data["data"]["generators"] = [
        {"kind": "rattled", "config_type": "crystal", "count": 4, "rattle_A": 0.06},
        {"kind": "strained", "config_type": "crystal", "count": 3, "max_strain": 0.03, "rattle_A": 0.04},
        {"kind": "md", "config_type": "crystal", "temperatures_K": [300, 600], "snapshots_per_temperature": 2,
         "equilibration_ps": 0.2, "interval_ps": 0.1, **md},
        {"kind": "trajectory", "interval_ps": 0.1, **md, "segments": [
            {"phase": "melt", "start_K": 1600, "duration_ps": 0.6, "snapshots": False},
            {"phase": "liquid", "start_K": 1200, "duration_ps": 1.0},
            {"phase": "amorphous", "start_K": 1200, "end_K": 300, "duration_ps": 1.0}]},
        {"kind": "trajectory", "split": "benchmark", "interval_ps": 0.2, **md, "segments": [
            {"phase": "crystal", "start_K": 300, "duration_ps": 0.4},
            {"phase": "heating", "start_K": 1600, "duration_ps": 0.6, "snapshots": False},
            {"phase": "liquid", "start_K": 1200, "duration_ps": 0.4},
            {"phase": "amorphous", "start_K": 1200, "end_K": 300, "duration_ps": 0.6}]},
    ]
    snap = data["snap"]
    snap["search_space"] = {"snap.rcutfac": {"real": [4.6, 5.4]}, "snap.solver.alpha": {"real": [1.0e-8, 1.0e-4], "prior": "log-uniform"}}
    snap["fit"]["snap"]["twojmax"] = 4
    snap["budget"] = {"candidates": 4}
    snap["optimiser"] = {"initial_points": 2, "acquisition": {"kind": "EI"}}
    # Both families keep the same objective, speed and survival sections, so 'best' can compare them.
    snap["speed"].update(size_atoms=80, steps=10, repeats=2)
    snap["survival"].update(temperatures_K=[1200], replicas=2, duration_ps=0.3, nve_duration_ps=0.1, target_atoms=80)
    ace = data["ace"]
    ace["fit"]["ace"].update(functions_per_element=6, max_iterations=10)
    ace["search_space"] = {"ace.rcut_A": {"real": [5.0, 6.0]}}
    ace["budget"] = {"candidates": 2}
    ace["optimiser"] = {"initial_points": 2}
    ace["objective"], ace["speed"], ace["survival"] = snap["objective"], snap["speed"], snap["survival"]
    cycle = data["cycle"]
    cycle["device"].update(size_nm=[1.25, 1.25, 3.1], frozen_slab_nm=0.6, heater_nm=1.2)
    cycle.update(thermo_every=25, trajectory_every=50, checkpoint_every=100)
    cycle["stages"] = [
        {"stage": "velocity", "name": "init", "temperature_K": 300},
        {"stage": "nvt", "name": "equilibrate", "duration_ps": 0.3, "temperature_K": 300},
        {"stage": "heat_pulse", "name": "reset", "region": "heater", "energy_eV": 25.0, "duration_ps": 0.4},
        {"stage": "cool", "name": "reset-cool", "target_K": 300, "duration_ps": 0.4, "damping_fs": 200},
        {"stage": "anneal", "name": "set", "temperature_K": 600, "duration_ps": cycle_changes.get("set_ps", 0.6),
         "damping_fs": 200},
    ]
    data["refine"].update(rounds=1, generators=[{"kind": "trajectory", "interval_ps": 0.2, **md, "segments": [
        {"phase": "melt", "start_K": 1400, "duration_ps": 0.4, "snapshots": False},
        {"phase": "anneal", "start_K": 700, "duration_ps": 0.6}]}])
    data["analysis"]["crystallinity"]["slabs"] = 5
    data["analysis"]["rdf_stages"] = ["equilibrate", "reset", "set"]
    data["analysis"]["cycle"]["snapshots_after"] = ["equilibrate", "reset-cool", "set"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def outcomes(out: Path) -> dict[str, str]:
    return {s["step"]: s["outcome"] for s in json.loads((out / "demo_steps.json").read_text())["steps"]}


def finished_candidates(run_dir: Path) -> int:
    journal = run_dir / "journal.sqlite"
    if not journal.is_file():
        return 0
    with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=5) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM candidates WHERE finished_at IS NOT NULL").fetchone()[0]
        except sqlite3.OperationalError:  # the table is being created
            return 0


@pytest.fixture(scope="module")
def killed_and_finished(tmp_path_factory):
    """A reduced demo killed while the SNAP optimisation has finished some candidates, then run to the end."""
    tmp_path = tmp_path_factory.mktemp("demo")
    config = reduced_config(tmp_path / "demo.yaml")
    out = tmp_path / "out"
    command = [str(BIN / "simkit"), "demo", str(config), "-o", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 900
    while finished_candidates(out / "02-optimise-snap") < 1 and process.poll() is None and time.time() < deadline:
        time.sleep(0.5)
    alive = process.poll() is None
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    kept = finished_candidates(out / "02-optimise-snap")
    done = run_cli("demo", str(config), "-o", str(out), timeout=1800)
    return config, out, alive, kept, done


def test_demo_runs_resumes_reuses_and_reruns_only_what_changed(killed_and_finished):
    config, out, alive, kept, done = killed_and_finished
    assert alive, "the demo ended before the SNAP optimisation had finished a candidate"
    assert 1 <= kept < 4
    assert done.returncode == 0, done.stderr[-3000:]
    report = out / "report" / "report.md"
    assert f"report: {report}" in done.stdout
    steps = {"data": "reused", "snap": "resumed", "ace": "ran", "refine": "ran", "validation": "ran", "cycle": "ran",
             "analysis": "ran"}
    assert outcomes(out) == steps
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["outputs"]["report"] == str(report)
    assert [s["outcome"] for s in summary["results"]["steps"]] == list(steps.values())

    # Every finished candidate kept once, the budget reached.
    table = pd.read_csv(out / "02-optimise-snap" / "candidates.csv")
    finished = table[table["status"].isin(["ok", "infeasible", "pruned", "failed"])]
    assert len(finished) == 4 and table["id"].is_unique
    assert set(table["status"]) - set(finished["status"]) <= {"lost"}  # in flight when killed
    # The figures the report promises exist and are real images.
    text = report.read_text()
    for name in ("snap_convergence.png", "snap_pareto.png", "snap_parity.png", "ace_convergence.png", "survival.png",
                 "cycle.png", "crystallinity.png", "rdf.png", "cycle_reading.png", "snapshots.png",
                 "teacher_audit.png"):
        assert f"]({name})" in text, name
        assert (out / "report" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    # The cycle ran on two ranks with the best model, and the heat pulse went in.
    cycle = json.loads((out / FOLDERS["cycle"] / "run_summary.json").read_text())
    assert cycle["mpi"]["ranks"] == 2 and cycle["status"] == "finished"
    # ... with the family whose best candidate has the lower objective.
    cycle_config = yaml.safe_load((out / "configs" / "cycle.yaml").read_text())
    family = cycle_config["potential"]["kind"]
    key = {"snap": "coeff", "ace": "yace"}[family]
    # ... the refined student where the demo refines that family (ACE), else the optimiser's best.
    student = (out / FOLDERS["refine"] / "ace" / "potential.yaml" if family == "ace"
               else out / FOLDERS[family] / "best" / "potential.yaml")
    expected = yaml.safe_load(student.read_text())[key]
    assert Path(cycle_config["potential"][key]).name == Path(expected).name
    assert family == "snap" or cycle_config["potential"][key] == expected
    objectives = {f: json.loads((out / FOLDERS[f] / "best" / "provenance.json").read_text())["candidate"]["objective"]
                  for f in ("snap", "ace")}
    assert objectives[family] == min(objectives.values())
    assert f"the cycle runs the best {family.upper()}, the lower objective of the two" in text
    pulse = next(s for s in cycle["results"]["segments"] if s["label"] == "reset")
    assert pulse["heat"]["delivered_eV"] == pytest.approx(pulse["heat"]["requested_eV"], rel=0.1)
    analysis = out / FOLDERS["analysis"]
    crystal = pd.read_csv(analysis / "crystallinity" / "crystallinity.csv")
    assert len(crystal) >= 5 and crystal["crystalline_fraction"].iloc[0] > 0.9  # the starting crystal, by SOAP
    rdf = pd.read_csv(analysis / "rdf_by_stage.csv")
    assert {"g_equilibrate", "g_reset", "g_set"} <= set(rdf.columns)
    assert "Amorphisation and regrowth" in text and "Students against the teacher" in text
    assert "## Active learning of the ACE student" in text and "| 1 | generator 0 (explored) | 3 |" in text
    # The teacher re-evaluated the cycle's frames with the potential the cycle ran.
    audit = json.loads((analysis / "teacher_audit" / "teacher_audit.json").read_text())
    assert audit["frames"] == 12 and len(audit["rows"]) == 12 and audit["rows"][0]["time_ps"] == 0.0
    assert "The cycle against the teacher" in text and ("Audit passed" in text) == audit["passed"]

    again = run_cli("demo", str(config), "-o", str(out), timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert set(outcomes(out).values()) == {"reused"}

    reduced_config(config, set_ps=0.8)
    changed = run_cli("demo", str(config), "-o", str(out), timeout=900)
    assert changed.returncode == 0, changed.stderr[-3000:]
    assert outcomes(out) == {**{k: "reused" for k in steps}, "cycle": "ran", "analysis": "ran"}
    set_stage = next(s for s in json.loads((out / FOLDERS["cycle"] / "run_summary.json").read_text())["results"]
                     ["segments"] if s["label"] == "set")
    assert set_stage["end_time_ps"] - set_stage["begin_time_ps"] == pytest.approx(0.8, abs=0.01)


def test_students_are_validated_against_the_teacher_per_phase(killed_and_finished):
    _, out, _, _, done = killed_and_finished
    assert done.returncode == 0, done.stderr[-3000:]
    students = json.loads((out / FOLDERS["validation"] / "validation.json").read_text())["students"]
    assert {s["family"] for s in students} == {"snap", "ace"}
    for student in students:
        # Errors per phase on the held-out benchmark set (crystal, liquid and amorphous frames).
        assert {"crystal", "liquid", "amorphous"} <= set(student["errors"]["per_phase"])
        assert {"liquid-generator3", "amorphous-generator3"} == set(student["structure"])
        for result in student["structure"].values():
            assert result["frames"]["reference"] == result["frames"]["candidate"] > 0
            assert set(result["checks"]["first_peak_position_A"]) >= {"total", "Sb-Te"}
    # The quadratic SNAP's liquid g(r) (10 frames of 80 atoms, 4 candidates fitted on 30 frames). Its objective
    # weighs the measured LAMMPS speed, so which of the 4 candidates wins varies from run to run (a fast,
    # short-cutoff one put the total first peak 0.19 Å off on one CI run, under 0.15 Å on the runs before it).
    # The bounds here are those a broken pipeline would miss by far (species swapped, a unit wrong, the wrong
    # frames compared), not the physics claim: the full default states 0.05 Å and 15 %, and its recorded run
    # (benchmarks/results/sb2te3_demo.md) says check by check where the students meet them and where not
    # (the SNAP's liquid total first peak: 0.033 Å off on one benchmark trajectory, 0.072 Å on the other).
    snap = next(s for s in students if s["family"] == "snap")["structure"]["liquid-generator3"]["checks"]
    for quantity in ("first_peak_position_A", "first_peak_height"):
        for check in snap[quantity].values():
            assert check["difference"] == pytest.approx(check["candidate"] - check["reference"])
    peak = snap["first_peak_position_A"]
    assert 2.8 < peak["Sb-Te"]["reference"] < 3.2  # the teacher's liquid Sb-Te bond
    assert peak["total"]["passed"] is (abs(peak["total"]["difference"]) <= peak["total"]["tolerance"])
    assert abs(peak["total"]["difference"]) < 0.3
    assert abs(snap["first_peak_height"]["total"]["relative_difference"]) < 0.35


def test_the_best_ace_is_refined_by_its_own_mistakes(killed_and_finished):
    _, out, _, _, done = killed_and_finished
    assert done.returncode == 0, done.stderr[-3000:]
    refine = json.loads((out / FOLDERS["refine"] / "ace" / "refine.json").read_text())
    first = refine["rounds"][0]
    optimised = yaml.safe_load((out / FOLDERS["ace"] / "best" / "potential.yaml").read_text())
    assert Path(first["student"]["yace"]).name == optimised["yace"]  # round 1 explores with the optimiser's best
    explored = first["disagreement_meV_per_atom"]["generator 0 (explored)"]
    assert explored["frames"] == 3 and explored["threshold"] == 30.0  # 0.6 ps of anneal, a frame every 0.2 ps
    assert first["frames_added"] == explored["at_or_above_threshold"]
    students = json.loads((out / FOLDERS["validation"] / "validation.json").read_text())["students"]
    ace = next(s for s in students if s["family"] == "ace")
    if first["frames_added"]:
        # Refit on the data plus the explored frames; validation reports the refit's own errors.
        refit = json.loads((Path(first["refit"]) / "metrics.json").read_text())["overall"]
        assert ace["errors"]["overall"]["loss"] == pytest.approx(refit["loss"])
        assert refine["potential"]["yace"].startswith(str(out / FOLDERS["refine"] / "ace" / "round-1" / "fit"))
        assert "check" in refine and "generator 0 (explored)" in refine["check"]["disagreement_meV_per_atom"]
    else:
        assert refine["potential"] == first["student"] and refine["metrics_dir"] is None


def test_cycle_reading_states_amorphisation_fronts_and_criteria_agreement(killed_and_finished):
    _, out, _, _, done = killed_and_finished
    assert done.returncode == 0, done.stderr[-3000:]
    reading = json.loads((out / FOLDERS["analysis"] / "cycle" / "cycle_reading.json").read_text())
    assert reading["amorphised_slabs"]["read_after"] == "reset-cool" and reading["amorphised_slabs"]["of"] == 5
    assert [f["name"] for f in reading["growth"]["fronts"]] == ["lower", "upper"]
    agreement = reading["agreement"]  # on-the-fly bond order (LAMMPS) vs post-processed SOAP, frame by frame
    assert agreement["criteria"] == ["on_the_fly", "soap"] and agreement["frames"] >= 5
    assert 0.5 < agreement["mean_same_class"] <= 1.0
    table = pd.read_csv(out / FOLDERS["analysis"] / "cycle" / "cycle_reading.csv")
    assert {"time_ps", "on_the_fly_fraction", "amorphised_region_fraction", "lower_front_z_A"} <= set(table.columns)
    strip = out / FOLDERS["analysis"] / "cycle" / "snapshots" / "cycle_strip.png"
    assert strip.read_bytes()[:4] == b"\x89PNG"


def test_bad_section_is_refused_before_any_step_runs(tmp_path):
    data = yaml.safe_load(default_config_path().read_text())
    data["cycle"]["stages"][2]["energy_pj"] = 1.0  # misspelt key
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(data))
    result = run_cli("demo", str(config), "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "bad.yaml: cycle" in result.stderr and "energy_pj" in result.stderr
    assert not (tmp_path / "out" / "01-data").exists()

    data = yaml.safe_load(default_config_path().read_text())
    data["analysis"]["rdf_stages"] = ["melt"]
    config.write_text(yaml.safe_dump(data))
    result = run_cli("demo", str(config), "-o", str(tmp_path / "out"))
    assert result.returncode == 2 and "no cycle stage is named 'melt'" in result.stderr


def test_embedded_default_is_shown_and_valid(tmp_path):
    shown = run_cli("demo", "--show-config")
    assert shown.returncode == 0 and shown.stdout == default_config_path().read_text()
    config, out = load_demo_config(default_config_path(), tmp_path / "out")
    plan = DemoPlan(config, default_config_path(), out)
    assert [s.name for s in plan.steps()] == ["data", "snap", "ace", "refine", "validation", "cycle", "analysis"]
    assert plan.optimise_configs["snap"]["fit"]["data"]["train"] == str(out / "01-data" / "dataset.extxyz")
    # Candidates are scored on the held-out benchmark set the data step writes.
    validation = plan.optimise_configs["ace"]["fit"]["data"]["validation"]
    assert validation == {"kind": "file", "path": [str(out / "01-data" / "dataset.benchmark.extxyz")]}


def test_a_failed_cycle_falls_back_to_the_other_family_and_is_remembered(killed_and_finished, monkeypatch):
    """Runs last on the shared demo folder: it changes the cycle and makes the chosen family's cycle fail."""
    from simkit.demo import runner

    config, out, _, _, first = killed_and_finished
    assert first.returncode == 0, first.stderr[-3000:]
    chosen = yaml.safe_load((out / "configs" / "cycle.yaml").read_text())["potential"]["kind"]
    other = {"snap": "ace", "ace": "snap"}[chosen]

    # The chosen family's cycle fails (as a SNAP that blows up in the hot device would).
    reduced_config(config, set_ps=0.7)
    real = runner.run_command

    def failing_for_chosen(step_name, command, log_path, cwd):
        cycle = yaml.safe_load((out / "configs" / "cycle.yaml").read_text())
        if step_name == "cycle" and cycle["potential"]["kind"] == chosen:
            raise runner.StepFailed("LAMMPS failed: Lost atoms (simulated)")
        return real(step_name, command, log_path, cwd)

    monkeypatch.setattr(runner, "run_command", failing_for_chosen)
    report = runner.run_demo(config, out)
    steps = json.loads((out / "demo_steps.json").read_text())["steps"]
    assert [(s["step"], s["outcome"]) for s in steps if s["step"] == "cycle"] == [("cycle", "failed"), ("cycle", "ran")]
    assert yaml.safe_load((out / "configs" / "cycle.yaml").read_text())["potential"]["kind"] == other
    assert (out / f"{FOLDERS['cycle']}.failed-{chosen}" / "demo_step.json").is_file()  # the failed run is kept
    (rejected,) = json.loads((out / "cycle_rejected.json").read_text()).values()
    assert rejected["family"] == chosen and "Lost atoms" in rejected["error"]
    assert f"runs the best {other.upper()}, because the cycle failed" in report.read_text()

    # The next run goes straight to the other family's finished cycle.
    monkeypatch.setattr(runner, "run_command", real)
    again = run_cli("demo", str(config), "-o", str(out), timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert set(outcomes(out).values()) == {"reused"}
