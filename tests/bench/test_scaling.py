"""``simkit bench scaling``: the efficiency arithmetic, the launcher, and a real scan with a failing point."""

from __future__ import annotations

import csv
import json
import shutil
import sys
import time

import pytest

from simkit.bench.launch import LauncherSpec, run_job
from simkit.bench.scaling import (
    STRONG,
    WEAK,
    ScalingConfig,
    ScalingPoint,
    ScalingResult,
    compute_metrics,
    planned_points,
)
from simkit.bench.scaling_report import plot_relative, plot_scaling
from simkit.bench.synthetic import random_ace
from simkit.runtime.mpi import mpirun_executable
from tests.conftest import run_cli
from tests.one_rank_fault import MESSAGE, cli_fault_script


def _point(potential, mode, ranks, rate, target=1000, ok=True):
    point = ScalingPoint(potential, mode, ranks, target, status="ok" if ok else "failed")
    point.atom_steps_per_s = rate if ok else None
    return point


def test_speedup_efficiency_and_relative_speed_arithmetic():
    points = [
        _point("snap", STRONG, 1, 1000.0),
        _point("snap", STRONG, 2, 1800.0),
        _point("snap", STRONG, 4, 3000.0),
        _point("snap", STRONG, 8, None, ok=False),
        _point("snap", WEAK, 1, 1000.0, target=500),
        _point("snap", WEAK, 4, 3600.0, target=2000),
        _point("ace", STRONG, 1, None, ok=False),  # the base rank count failed: the next one is the base
        _point("ace", STRONG, 2, 500.0),
        _point("ace", STRONG, 4, 900.0),
        _point("ace", WEAK, 1, 250.0, target=500),
    ]
    compute_metrics(points, reference="snap")
    snap2, snap4, snap8 = points[1], points[2], points[3]
    assert snap2.speedup == pytest.approx(1.8) and snap2.parallel_efficiency == pytest.approx(0.9)
    assert snap4.speedup == pytest.approx(3.0) and snap4.parallel_efficiency == pytest.approx(0.75)
    assert snap8.speedup is None and snap8.parallel_efficiency is None and snap8.relative_speed is None
    weak4 = points[5]
    assert weak4.parallel_efficiency == pytest.approx(0.9)  # 900 atom-steps/s per rank against 1000
    ace2, ace4 = points[7], points[8]
    assert ace2.speedup == 1.0 and ace2.parallel_efficiency == 1.0
    assert ace4.speedup == pytest.approx(1.8) and ace4.parallel_efficiency == pytest.approx(0.9)
    assert ace2.relative_speed == pytest.approx(500 / 1800) and ace4.relative_speed == pytest.approx(0.3)
    assert points[9].relative_speed == pytest.approx(0.25)
    assert points[0].relative_speed == 1.0


def test_figures_of_a_scan_where_every_point_failed(tmp_path):
    """No speed to plot and no bar to label: both figures are still written, with no warning (errors here)."""
    points = [_point(name, mode, ranks, None, ok=False) for name in ("snap", "ace") for mode in (STRONG, WEAK)
              for ranks in (1, 2)]
    compute_metrics(points, reference="snap")
    result = ScalingResult(points, "snap", {}, None)
    assert plot_scaling(result, tmp_path / "scaling.png").stat().st_size > 0
    assert plot_relative(result, tmp_path / "relative.png").stat().st_size > 0


def test_planned_points_and_config_checks(tmp_path):
    base = {
        "output_dir": str(tmp_path),
        "structure": {"bulk": {"element": "Si", "crystal": "diamond", "a_A": 5.431, "cubic": True}},
        "potentials": [{"name": "eam", "potential": {"kind": "eam/alloy", "file": "lammps:Cu_zhou.eam.alloy"}}],
    }
    config = ScalingConfig.model_validate({**base, "strong": {"atoms": 100, "ranks": [4, 1]},
                                           "weak": {"atoms_per_rank": 50, "ranks": [1, 2]}})
    assert [(p.mode, p.ranks, p.target_atoms) for p in planned_points(config)] == [
        (STRONG, 1, 100), (STRONG, 4, 100), (WEAK, 1, 50), (WEAK, 2, 100)]
    assert config.reference_name == "eam"
    for bad in ({}, {"strong": {"atoms": 10, "ranks": [1, 1]}}, {"strong": {"atoms": 10, "ranks": [1]}, "reference": "x"}):
        with pytest.raises(ValueError):
            ScalingConfig.model_validate({**base, **bad})


def test_launcher_placeholders():
    default = LauncherSpec().words(3)
    assert default == [str(mpirun_executable()), "-np", "3"]
    srun = LauncherSpec(command=["srun", "--mpi=pmi2", "--ntasks={ranks}"]).words(16)
    assert srun == ["srun", "--mpi=pmi2", "--ntasks=16"]
    with pytest.raises(ValueError, match="ranks"):
        LauncherSpec(command=["mpirun", "-np", "2"])


def test_a_job_past_its_time_limit_is_stopped(tmp_path):
    started = time.perf_counter()
    outcome = run_job([shutil.which("sleep"), "60"], cwd=tmp_path, timeout_s=1.0)
    assert outcome.returncode is None and not outcome.ok
    assert outcome.reason().startswith("timed out after")
    assert time.perf_counter() - started < 15


CONFIG = """\
output_dir: {out}
seed: 2
structure: {{bulk: {{element: Si, crystal: diamond, a_A: 5.431, cubic: true}}}}
potentials:
  - {{name: snap, potential: {{kind: snap, coeff: lammps:Si_Zuo_JPCA2020.snapcoeff, param: lammps:Si_Zuo_JPCA2020.snapparam}}}}
  - {{name: ace, potential: {{kind: ace, yace: {yace}}}}}
reference: snap
strong: {{atoms: 64, ranks: [1, 2, 3]}}
weak: {{atoms_per_rank: 64, ranks: [1, 2]}}
timing: {{steps: 20, warmup_steps: 5, repeats: 3, min_atoms_per_rank: 30}}
"""


@pytest.mark.mpi
def test_real_scan_of_snap_and_ace_with_a_failing_point(tmp_path):
    out = tmp_path / "scan"
    config = tmp_path / "scaling.yaml"
    config.write_text(CONFIG.format(out=out, yace=random_ace(tmp_path / "si.yace", ["Si"])))
    result = run_cli("bench", "scaling", str(config))
    assert result.returncode == 0, result.stderr
    with (out / "scaling.csv").open() as handle:
        rows = {(r["potential"], r["mode"], int(r["ranks"])): r for r in csv.DictReader(handle)}
    assert len(rows) == 10
    for potential in ("snap", "ace"):
        # 64 atoms on 3 ranks is below min_atoms_per_rank = 30: recorded, and the scan went on.
        failed = rows[(potential, STRONG, 3)]
        assert failed["status"] == "failed" and "too many ranks for the cell" in failed["reason"]
        assert failed["parallel_efficiency"] == ""
        for mode in (STRONG, WEAK):
            one, two = rows[(potential, mode, 1)], rows[(potential, mode, 2)]
            assert one["status"] == two["status"] == "ok"
            assert float(one["parallel_efficiency"]) == 1.0
            expected = (float(two["atom_steps_per_s"]) / 2) / float(one["atom_steps_per_s"])
            assert float(two["parallel_efficiency"]) == pytest.approx(expected, rel=1e-12)
            assert float(two["atom_steps_per_s_per_rank"]) == pytest.approx(float(two["atom_steps_per_s"]) / 2)
            assert float(two["pair_s"]) > 0 and float(two["comm_s"]) > 0
            measured = json.loads((out / "points" / f"{potential}-{mode}-2ranks" / "speed.json").read_text())
            assert measured["points"][0]["ranks"] == 2  # the launcher really started two ranks
        assert int(rows[(potential, WEAK, 2)]["natoms"]) >= 128
    # Per-rank throughput, not the total: about 1 on two idle cores (a total would read about 2).
    # Wide bounds: the two points run at different times on a machine that may be shared.
    assert 0.0 < float(rows[("snap", WEAK, 2)]["parallel_efficiency"]) < 1.6
    speedup = float(rows[("snap", WEAK, 2)]["atom_steps_per_s"]) / float(rows[("snap", WEAK, 1)]["atom_steps_per_s"])
    assert float(rows[("snap", WEAK, 2)]["speedup"]) == pytest.approx(speedup, rel=1e-12)
    ace = rows[("ace", STRONG, 1)]
    assert float(ace["relative_speed"]) == pytest.approx(
        float(ace["atom_steps_per_s"]) / float(rows[("snap", STRONG, 1)]["atom_steps_per_s"]))
    machine = json.loads((out / "machine.json").read_text())
    assert machine["machine"]["mpi_vendor"] == "MPICH" and machine["machine"]["available_cpus"] >= 1
    assert machine["lammps_version"] == 20250722
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["status"] == "finished" and len(summary["results"]["points_failed"]) == 2
    assert (out / "scaling.png").stat().st_size > 1000 and (out / "relative_speed.png").stat().st_size > 1000
    assert "FAILED" in result.stdout


@pytest.mark.mpi
def test_a_job_failing_on_one_rank_is_a_failed_point_and_the_scan_goes_on(tmp_path):
    # Every job of the scan is started through a script that makes rank 1 fail alone (rank 0 is then
    # inside a LAMMPS command waiting for it): the job must end by itself, long before its time limit.
    wrapper = tmp_path / "fault.py"
    wrapper.write_text(cli_fault_script(patch="simkit.lammps.dynamics:create_velocities", rank=1,
                                        error="RunFailed"))
    out = tmp_path / "scan"
    config = tmp_path / "scaling.yaml"
    config.write_text(
        f"output_dir: {out}\n"
        "structure: {bulk: {element: Cu, crystal: fcc, a_A: 3.615, cubic: true}}\n"
        "potentials: [{name: eam, potential: {kind: eam/alloy, file: 'lammps:Cu_zhou.eam.alloy'}}]\n"
        "strong: {atoms: 256, ranks: [1, 2]}\n"
        "timing: {steps: 20, warmup_steps: 5, repeats: 2, min_atoms_per_rank: 30}\n"
        f"launcher: {{command: ['{{mpirun}}', '-np', '{{ranks}}', '{sys.executable}', '{wrapper}'], timeout_s: 200}}\n"
    )
    started = time.monotonic()
    result = run_cli("bench", "scaling", str(config), timeout=400)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 150  # the failed job ended on its own, not at its 200 s limit
    with (out / "scaling.csv").open() as handle:
        rows = {int(r["ranks"]): r for r in csv.DictReader(handle)}
    assert rows[1]["status"] == "ok"
    assert rows[2]["status"] == "failed" and "timed out" not in rows[2]["reason"]
    assert MESSAGE in rows[2]["reason"], rows[2]["reason"]
