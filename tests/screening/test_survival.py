"""Survival screens: a sound potential survives, a broken one fails by a detected mode, early stop cancels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simkit.errors import ConfigError
from simkit.screening import detection
from simkit.screening.detection import resolve_limits
from simkit.screening.replica import ReplicaStatus, ReplicaTask, run_replica
from simkit.screening.report import SurvivalReport
from simkit.screening.settings import SurvivalSettings, SurvivalThresholds
from simkit.screening.survival import run_survival
from tests.conftest import run_cli, run_python_mpi
from tests.one_rank_fault import MESSAGE, fault_script
from tests.screening.helpers import CrashingPotential, scrambled_si_snap, si_cell, si_snap

SOUND_CONFIG = """\
output_dir: {out}
seed: 11
potential: {{kind: snap, coeff: lammps:Si_Zuo_JPCA2020.snapcoeff, param: lammps:Si_Zuo_JPCA2020.snapparam}}
structure: {{bulk: {{element: Si, crystal: diamond, a_A: 5.431, cubic: true}}}}
workers: 2
survival:
  temperatures_K: [1000]
  replicas: 2
  duration_ps: 0.4
  target_atoms: 64
  ramp: {{start_temperature_K: 300, duration_ps: 0.1}}
  nve_duration_ps: 0.2
  check_every_steps: 25
"""

# A replica at 2500 K breaks a deliberately tight force limit within the first
# check; one at 50 K never would, and is long enough that only the early stop
# can end it in the time this test takes.
EARLY_STOP = SurvivalSettings(
    temperatures_K=[2500, 50], replicas=1, duration_ps=1000.0, target_atoms=8, nve_duration_ps=0,
    check_every_steps=20, thresholds=SurvivalThresholds(max_force_eV_per_A=2.0),
)


MPI_EARLY_STOP_CONFIG = """\
output_dir: {out}
seed: 3
potential: {{kind: snap, coeff: lammps:Si_Zuo_JPCA2020.snapcoeff, param: lammps:Si_Zuo_JPCA2020.snapparam}}
structure: {{bulk: {{element: Si, crystal: diamond, a_A: 5.431, cubic: true}}}}
min_survival_fraction: 1.0
survival:
  temperatures_K: [2500, 50]
  replicas: 1
  duration_ps: 1000
  target_atoms: 8
  nve_duration_ps: 0
  check_every_steps: 20
  thresholds: {{max_force_eV_per_A: 2.0}}
"""


def test_sound_snap_survives_every_replica(tmp_path):
    out = tmp_path / "sound"
    config = tmp_path / "survive.yaml"
    config.write_text(SOUND_CONFIG.format(out=out))
    result = run_cli("survive", str(config))
    assert result.returncode == 0, result.stderr
    assert "survival 2/2 = 100.0 %" in result.stdout
    data = json.loads((out / "survival.json").read_text())
    assert data["survival_fraction"] == 1.0 and data["failure_modes"] == {}
    assert data["parallel"] == {"mode": "processes", "workers": 2}
    for replica in data["replicas"]:
        assert replica["status"] == ReplicaStatus.SURVIVED and replica["natoms"] == 64
        assert replica["steps_completed"] == 700 and replica["simulated_ps"] == pytest.approx(0.7)
        assert 0 < replica["nve_drift_eV_per_atom"] < 1e-3
        assert 1.5 < replica["min_distance_A"] < 2.35 and replica["max_force_eV_per_A"] < 20
    assert data["replicas"][0]["seed"] != data["replicas"][1]["seed"]
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["results"]["survival_fraction"] == 1.0
    assert (out / "survival.png").stat().st_size > 1000
    assert len(list((out / "replicas").glob("*.lammps.log"))) == 2


def test_scrambled_snap_fails_by_a_detected_mode(tmp_path):
    settings = SurvivalSettings(
        temperatures_K=[1000], replicas=3, duration_ps=0.5, target_atoms=64, nve_duration_ps=0, check_every_steps=25
    )
    report = run_survival(
        scrambled_si_snap(tmp_path), settings, structures=[si_cell()], workers=2, seed=5,
        reference_structures=[si_cell()],
    )
    detected = {detection.FailureMode.CLOSE_PAIR, detection.FailureMode.LARGE_FORCE, detection.FailureMode.TEMPERATURE_RUNAWAY,
                detection.FailureMode.COORDINATION, detection.FailureMode.NON_FINITE}
    assert report.survival_fraction == 0.0
    for replica in report.replicas:
        assert replica.status == ReplicaStatus.FAILED
        assert replica.mode in detected, replica.message
        assert 0 < replica.failure_time_ps < 0.5 and replica.failure_step == round(replica.failure_time_ps * 1000)
    assert sum(report.failure_modes.values()) == 3
    assert report.times_to_failure_ps == sorted(r.failure_time_ps for r in report.replicas)
    # The report survives a round trip through its JSON file.
    again = SurvivalReport.read_json(report.write_json(tmp_path / "survival.json"))
    assert again.failure_modes == report.failure_modes and again.survival_fraction == 0.0
    assert "1000" in again.table() and "0/3" in again.table()
    assert again.plot(tmp_path / "survival.png").stat().st_size > 1000


def test_early_stop_cancels_the_other_worker():
    report = run_survival(si_snap(), EARLY_STOP, structures=[si_cell()], workers=2, min_survival_fraction=1.0, seed=3)
    hot, cold = sorted(report.replicas, key=lambda r: -r.temperature_K)
    assert hot.status == ReplicaStatus.FAILED and hot.mode == detection.FailureMode.LARGE_FORCE
    # Cancelled while running or before it started, depending on how fast its worker came up;
    # either way it did not run its 10^6 steps.
    assert cold.status == ReplicaStatus.CANCELLED and cold.steps_completed < 1_000_000
    assert report.early_stopped and report.passed is False


def test_a_running_replica_stops_at_the_next_check_when_asked():
    limits = resolve_limits(EARLY_STOP.thresholds, potential_cutoff_A=4.9, starting_cells=[si_cell()])
    polls = iter([False, False, True])
    task = ReplicaTask(index=0, temperature_K=50.0, replica=0, structure_index=0, seed=1, atoms=si_cell())
    result = run_replica(task, si_snap(), EARLY_STOP, limits, should_stop=lambda: next(polls))
    assert result.status == ReplicaStatus.CANCELLED and result.mode is None
    assert result.steps_completed == 3 * EARLY_STOP.check_every_steps


def test_early_stop_cancels_queued_replicas_in_process():
    settings = EARLY_STOP.model_copy(update={"replicas": 3})
    # 5 of 6 must survive, so the second failure ends the screen; hot replicas run first.
    report = run_survival(si_snap(), settings, structures=[si_cell()], workers=0, min_survival_fraction=0.75, seed=3)
    ordered = sorted(report.replicas, key=lambda r: (-r.temperature_K, r.replica))
    assert [r.status for r in ordered] == [ReplicaStatus.FAILED, ReplicaStatus.FAILED] + [ReplicaStatus.CANCELLED] * 4
    assert all(r.steps_completed == 0 for r in ordered[2:])
    assert report.parallel == {"mode": "in-process", "ranks": 1}
    assert "stopped early" in report.table()


@pytest.mark.mpi
def test_early_stop_reaches_the_other_rank_under_mpirun(tmp_path):
    out = tmp_path / "mpi"
    config = tmp_path / "survive.yaml"
    config.write_text(MPI_EARLY_STOP_CONFIG.format(out=out))
    result = run_cli("survive", str(config), np_ranks=2)
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "survival.json").read_text())
    assert data["parallel"] == {"mode": "mpi", "ranks": 2}
    by_temperature = {r["temperature_K"]: r for r in data["replicas"]}
    assert by_temperature[2500.0]["status"] == ReplicaStatus.FAILED and by_temperature[2500.0]["mode"] == detection.FailureMode.LARGE_FORCE
    assert by_temperature[50.0]["status"] == ReplicaStatus.CANCELLED and by_temperature[50.0]["steps_completed"] < 1_000_000
    assert data["early_stopped"] and data["passed"] is False
    assert json.loads((out / "run_summary.json").read_text())["mpi"]["ranks"] == 2


def test_a_dying_worker_costs_only_its_replica():
    settings = SurvivalSettings(temperatures_K=[500], replicas=3, duration_ps=0.01, target_atoms=8)
    report = run_survival(CrashingPotential(si_snap()), settings, structures=[si_cell()], workers=2, seed=1)
    assert [r.status for r in report.replicas] == [ReplicaStatus.FAILED] * 3
    assert {r.mode for r in report.replicas} == {detection.FailureMode.WORKER_CRASH}
    assert "exit code 86" in report.replicas[0].message


def test_bad_starting_cell_is_refused_before_running(tmp_path):
    squeezed = si_cell()
    squeezed.positions[1] = squeezed.positions[0] + [0.5, 0.5, 0.5]
    settings = SurvivalSettings(temperatures_K=[1000], replicas=1, target_atoms=8)
    with pytest.raises(ConfigError, match="already below r_min"):
        run_survival(si_snap(), settings, structures=[squeezed], reference_structures=[si_cell()], workers=0)


def test_an_ace_potential_runs_through_the_screen(tmp_path):
    from simkit.bench.synthetic import random_ace
    from simkit.lammps.potentials.ace import AcePotential

    potential = AcePotential(random_ace(tmp_path / "si.yace", ["Si"], functions_per_element=10))
    settings = SurvivalSettings(temperatures_K=[300], replicas=1, duration_ps=0.05, target_atoms=64,
                                nve_duration_ps=0.02, check_every_steps=10)
    report = run_survival(potential, settings, structures=[si_cell()], workers=0, seed=1)
    (replica,) = report.replicas
    # A random ACE is not physical: only that it runs under pair_style pace and ends by a known mode matters.
    assert replica.status in (ReplicaStatus.SURVIVED, ReplicaStatus.FAILED) and replica.steps_completed > 0
    assert replica.mode is None or replica.mode in detection.FAILURE_MODES
    assert report.potential["kind"] == "ace"


def test_a_lammps_error_is_a_recorded_failure():
    from simkit.lammps.potentials import LammpsPairPotential

    # A 20 fs step at 3000 K throws atoms across the box between neighbour-list checks.
    potential = LammpsPairPotential("lj/cut 4.0", ["* * 1.0 2.0"], elements=["Si"], cutoff_A=4.0)
    lax = SurvivalThresholds(max_force_eV_per_A=1e9, max_temperature_factor=1e9, r_min_fraction=0.01,
                             coordination_ratio_range=(0.0, 1e9))
    settings = SurvivalSettings(temperatures_K=[3000], replicas=1, duration_ps=2.0, timestep_fs=20.0, target_atoms=64,
                                nve_duration_ps=0, check_every_steps=1000, thresholds=lax)
    (replica,) = run_survival(potential, settings, structures=[si_cell()], workers=0, seed=1).replicas
    assert replica.status == ReplicaStatus.FAILED and replica.mode == detection.FailureMode.LOST_ATOMS
    assert "Lost atoms" in replica.message and 0 < replica.failure_step <= 100


def test_frames_of_a_dataset_are_dealt_to_replicas(tmp_path):
    from ase.io import write

    from simkit.config import load_config
    from simkit.runtime.mpi import world
    from simkit.screening.config import SurviveConfig
    from simkit.screening.jobs import survive_job

    frames = [si_cell(), si_cell()]
    frames[1].set_cell(frames[1].cell * 1.02, scale_atoms=True)
    write(tmp_path / "frames.extxyz", frames)
    write(tmp_path / "train.extxyz", [si_cell().repeat(2)])
    config = tmp_path / "survive.yaml"
    config.write_text(
        "output_dir: out\n"
        "potential: {kind: snap, coeff: lammps:Si_Zuo_JPCA2020.snapcoeff, param: lammps:Si_Zuo_JPCA2020.snapparam}\n"
        "frames: {file: frames.extxyz}\n"
        "reference_data: {file: train.extxyz, index: '-1'}\n"
        "workers: 0\n"
        "replica_logs: false\n"
        "survival: {temperatures_K: [300], replicas: 3, duration_ps: 0.02, target_atoms: 8, nve_duration_ps: 0,"
        " check_every_steps: 10}\n"
    )
    report = survive_job(load_config(SurviveConfig, config), world())
    assert [r.structure_index for r in report.replicas] == [0, 1, 0]
    assert report.survival_fraction == 1.0
    assert report.limits["reference_min_distance_A"] == pytest.approx(5.431 * 3**0.5 / 4)
    assert not (tmp_path / "out" / "replicas").exists()
    summary = json.loads((tmp_path / "out" / "run_summary.json").read_text())
    assert {Path(i["path"]).name for i in summary["inputs"]} == {"frames.extxyz", "train.extxyz"}


def test_config_needs_exactly_one_source_of_cells(tmp_path):
    config = tmp_path / "survive.yaml"
    config.write_text(
        "output_dir: out\n"
        "potential: {kind: eam/alloy, file: lammps:Cu_zhou.eam.alloy}\n"
        "survival: {temperatures_K: [300]}\n"
    )
    result = run_cli("survive", str(config))
    assert result.returncode == 2
    assert "give exactly one of 'structure' or 'frames'" in result.stderr and len(result.stderr.splitlines()) == 1


def test_npt_replicas_check_the_density():
    settings = SurvivalSettings(temperatures_K=[500], replicas=1, duration_ps=0.1, target_atoms=64, ensemble="npt",
                                pressure_bar=0.0, barostat_damping_fs=200.0, nve_duration_ps=0, check_every_steps=20)
    report = run_survival(si_snap(), settings, structures=[si_cell()], workers=0, seed=2)
    assert list(report.limits["density_ratio_range"]) == [0.5, 2.0]
    (replica,) = report.replicas
    assert replica.status == ReplicaStatus.SURVIVED and replica.steps_completed == 100


ORPHAN_SCRIPT = """
from simkit.screening.settings import SurvivalSettings
from simkit.screening.survival import run_survival
from tests.screening.helpers import si_cell, si_snap

if __name__ == "__main__":
    settings = SurvivalSettings(temperatures_K=[300], replicas=1, duration_ps=1000.0, target_atoms=64, check_every_steps=20)
    run_survival(si_snap(), settings, structures=[si_cell()], workers=1)
"""


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cmdline = (stat.parent / "cmdline").read_bytes() if int(fields[1]) == pid else b""
        if b"spawn_main" in cmdline:  # the workers, not multiprocessing's resource tracker
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_workers_of_a_killed_screen_stop_themselves(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    script = tmp_path / "screen.py"
    script.write_text(ORPHAN_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    parent = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env)
    try:
        deadline = time.monotonic() + 60
        while not (workers := _children(parent.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert workers, "the screen started no worker"
        time.sleep(3.0)  # let the worker get into its replica
        assert all(_running(w) for w in workers)
    finally:
        parent.send_signal(signal.SIGKILL)  # no chance to clean up
        parent.wait()
    deadline = time.monotonic() + 20
    while any(_running(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [w for w in workers if _running(w)]
    for pid in left:  # our own grandchildren, by id: do not leave them running after a failure
        os.kill(pid, signal.SIGKILL)
    assert not left, "orphaned workers kept running"


@pytest.mark.mpi
def test_a_replica_failing_on_one_rank_stops_both_ranks_with_its_message(tmp_path):
    script = tmp_path / "one_rank_fails.py"
    script.write_text(fault_script(patch="simkit.screening.scheduling:run_replica",
                                   job="simkit.screening.jobs:survive_job", config="simkit.screening.config:SurviveConfig"))
    config = tmp_path / "survive.yaml"
    config.write_text(SOUND_CONFIG.format(out=tmp_path / "out"))
    done = run_python_mpi(script, 2, str(config), timeout=300)  # a rank left waiting would time out here
    assert done.returncode != 0
    assert done.stdout.count("stopped:") == 2, done.stdout + done.stderr
    assert MESSAGE in done.stdout
    summary = json.loads((tmp_path / "out" / "run_summary.json").read_text())
    assert summary["status"] == "failed" and MESSAGE in summary["error"]
