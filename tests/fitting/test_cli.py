"""``simkit evaluate`` and ``simkit fit`` end to end, serial and under mpirun."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import run_cli


def _metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


def test_evaluate_shipped_snap_on_its_own_labels_is_noise(si_teacher_file, tmp_path):
    out = tmp_path / "self"
    result = run_cli("evaluate", "--potential", "lammps:Si_Zuo_JPCA2020.snapcoeff", "--data", str(si_teacher_file),
                     "-o", str(out))
    assert result.returncode == 0, result.stderr
    overall = _metrics(out)["overall"]
    # Labels went through an 8-decimal extxyz round trip; nothing else differs (measured: 1e-6, 7e-5, 6e-6).
    assert overall["energy_rmse_meV_per_atom"] < 1e-4
    assert overall["force_vector_rmse_meV_per_A"] < 1e-3
    assert overall["virial_rmse_meV_per_atom"] < 1e-3
    assert overall["n_frames"] == 34
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["potentials"][0]["kind"] == "snap"
    assert "liquid" in result.stdout and (out / "parity.png").is_file()


def test_evaluate_on_another_teachers_labels_gives_their_difference(si_teacher_data, si_teacher_file, tmp_path,
                                                                    lammps_potentials):
    from simkit.lammps.potentials import SnapPotential
    from simkit.lammps.session import evaluate_structures

    quadratic = SnapPotential(lammps_potentials / "Si_Zuo_JPCA2020.quadratic.snapcoeff",
                              lammps_potentials / "Si_Zuo_JPCA2020.quadratic.snapparam")
    out = tmp_path / "other"
    result = run_cli("evaluate", "--potential", str(quadratic.coeff_path), "--data", str(si_teacher_file),
                     "--alpha", "0.3", "-o", str(out), "--no-plot")
    assert result.returncode == 0, result.stderr
    overall = _metrics(out)["overall"]
    # Independent numbers: both potentials evaluated directly on the same frames.
    predicted = evaluate_structures(si_teacher_data.structures, quadratic)
    n = np.array([f.n_atoms for f in si_teacher_data])
    de = np.array([p.energy_eV - f.energy_eV for p, f in zip(predicted, si_teacher_data)])
    df = np.concatenate([p.forces_eV_per_A - f.forces_eV_per_A for p, f in zip(predicted, si_teacher_data)])
    energy_rmse = 1000 * np.sqrt(np.mean((de / n) ** 2))
    force_rmse = 1000 * np.sqrt(np.mean(np.sum(df**2, axis=1)))
    loss_e = 1000 * np.sqrt(np.mean(de**2 / n))
    assert energy_rmse > 1.0 and force_rmse > 50.0
    assert overall["energy_rmse_meV_per_atom"] == pytest.approx(energy_rmse, rel=1e-5)
    assert overall["force_vector_rmse_meV_per_A"] == pytest.approx(force_rmse, rel=1e-5)
    assert overall["loss"] == pytest.approx(0.3 * loss_e + 0.7 * force_rmse, rel=1e-5)
    assert not (out / "parity.png").exists()


def test_evaluate_refuses_elements_the_potential_lacks(tmp_path, lammps_potentials, si_teacher_file):
    result = run_cli("evaluate", "--potential", "lammps:Cu_zhou.eam.alloy", "--data", str(si_teacher_file),
                     "-o", str(tmp_path / "cu"))
    assert result.returncode == 2
    assert "si_teacher.extxyz frame 0: element(s) Si not in the model's elements" in result.stderr
    summary = json.loads((tmp_path / "cu" / "run_summary.json").read_text())
    assert summary["status"] == "failed"


def _fit_yaml(tmp_path: Path, data_file: Path, **extra) -> Path:
    document = {
        "backend": "snap", "output_dir": "fit_out", "seed": 1, "elements": ["Si"],
        "data": {"train": str(data_file), "validation": {"kind": "holdout", "fraction": 0.25}},
        "snap": {"twojmax": 4, "rcutfac": 4.7}, **extra,
    }
    path = tmp_path / "fit.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_fit_cli_writes_potential_scores_and_summary(si_teacher_file, tmp_path):
    config = _fit_yaml(tmp_path, si_teacher_file)
    result = run_cli("fit", str(config), "--set", "snap.twojmax=6", "--set", "weights.virial=0.1")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "fit_out"
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["status"] == "finished"
    assert summary["config"]["snap"]["twojmax"] == 6 and summary["config"]["weights"]["virial"] == 0.1
    assert summary["seeds"] == {"fit": 1}
    assert summary["results"]["validation_loss"] < 0.2 * summary["results"]["baseline_loss"]
    assert Path(summary["outputs"]["potential_file_1"]).name == "snap.snapcoeff"
    # The deployed spec is an ordinary potential: evaluate reads it back.
    spec = yaml.safe_load((out / "potential.yaml").read_text())
    assert spec["kind"] == "snap"
    again = run_cli("evaluate", "--potential", str(out / "potential.yaml"), "--data", str(si_teacher_file),
                    "-o", str(tmp_path / "ev"))
    assert again.returncode == 0, again.stderr


def test_fit_cli_refuses_bad_data_before_fitting(tmp_path, si_teacher_data):
    from simkit.datasets import write_dataset
    from simkit.datasets.frames import Dataset

    frames = list(si_teacher_data.frames[:6])
    broken = frames[3]
    broken_atoms = broken.atoms.copy()
    broken_atoms.positions[2] = broken_atoms.positions[1] + 0.05
    frames[3] = type(broken)(broken_atoms, broken.energy_eV, broken.forces_eV_per_A, None, broken.config_type)
    data_file = write_dataset(Dataset(frames), tmp_path / "broken.extxyz")
    result = run_cli("fit", str(_fit_yaml(tmp_path, data_file)))
    assert result.returncode == 2
    assert "broken.extxyz frame 3: overlapping atoms 1 and 2 are 0.0866 Å apart" in result.stderr
    assert not (tmp_path / "fit_out" / "snap.snapcoeff").exists()
    assert json.loads((tmp_path / "fit_out" / "run_summary.json").read_text())["status"] == "failed"


def test_fit_cli_reports_config_errors_by_key(si_teacher_file, tmp_path):
    result = run_cli("fit", str(_fit_yaml(tmp_path, si_teacher_file, snap={"twojmax": 4, "radelem": {"Si": -1}})))
    assert result.returncode == 2
    assert "snap.radelem must be positive" in result.stderr


@pytest.mark.mpi
def test_fit_and_evaluate_under_mpirun_match_serial(si_teacher_file, tmp_path):
    config = _fit_yaml(tmp_path, si_teacher_file)
    serial = run_cli("fit", str(config), "-o", str(tmp_path / "serial"))
    parallel = run_cli("fit", str(config), "-o", str(tmp_path / "mpi"), np_ranks=2)
    assert serial.returncode == 0 and parallel.returncode == 0, parallel.stderr
    one = json.loads((tmp_path / "serial" / "run_summary.json").read_text())
    two = json.loads((tmp_path / "mpi" / "run_summary.json").read_text())
    assert two["mpi"]["ranks"] == 2
    assert two["results"]["validation_loss"] == pytest.approx(one["results"]["validation_loss"], rel=1e-8)
    assert parallel.stdout.count("set ") == 1  # only rank 0 prints the table
    evaluated = run_cli("evaluate", "--potential", str(tmp_path / "mpi" / "potential.yaml"),
                        "--data", str(si_teacher_file), "-o", str(tmp_path / "ev"), np_ranks=2)
    assert evaluated.returncode == 0, evaluated.stderr
    assert _metrics(tmp_path / "ev")["overall"]["n_frames"] == 34
