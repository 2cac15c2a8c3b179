"""The analysis side of ``simkit diffusion`` end to end on synthetic trajectories with a known Ea."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from simkit.config import load_config
from simkit.diffusion.config import DiffusionConfig
from simkit.diffusion.driver import analyse_run, save_config, temperature_dir
from simkit.errors import ConfigError, RunFailed
from simkit.io import H5mdWriter
from simkit.units import BOLTZMANN_EV_PER_K
from tests.conftest import run_cli
from tests.diffusion.synthetic import gaussian_walk

EA = 0.25  # eV
TEMPERATURES = (600.0, 800.0, 1000.0)
LI, CL = 3, 17


def _D(temperature_K: float) -> float:
    """Å^2/ps, 0.5 at 1000 K."""
    return 0.5 * np.exp(-EA / BOLTZMANN_EV_PER_K * (1 / temperature_K - 1 / 1000.0))


def _config(path: Path, **extra) -> Path:
    data = {
        "output_dir": "run",
        "seed": 4,
        "structure": {"bulk": {"element": "LiCl", "crystal": "rocksalt", "a_A": 5.13, "cubic": True}},
        "potential": {"kind": "eam/alloy", "file": "lammps:Cu_zhou.eam.alloy"},
        "temperatures_K": list(TEMPERATURES),
        "mobile_species": ["Li"],
        "production": {"duration_ps": 6.0, "trajectory_every": 10},
        "conductivity": {"charges_e": {"Li": 1.0, "Cl": -1.0}},
        "analysis": {"bootstrap_samples": 200},
        **extra,
    }
    path.write_text(yaml.safe_dump(data))
    return path


def _trajectories(config: DiffusionConfig, skip: tuple[float, ...] = ()) -> None:
    atoms, frames, dt = 96, 300, 0.02
    numbers = np.where(np.arange(atoms) % 2 == 0, LI, CL)
    for k, temperature in enumerate(TEMPERATURES):
        if temperature in skip:
            continue
        rng = np.random.default_rng(k)
        scale = np.sqrt(np.where(numbers == LI, _D(temperature), 0.1 * _D(temperature)))
        positions = gaussian_walk(rng, atoms, frames, 1.0, dt) * scale[None, :, None]
        folder = temperature_dir(config.output_dir, temperature)
        with H5mdWriter(folder / "trajectory.h5md", flush_every=100) as writer:
            for i in range(frames):
                writer.append_frame(step=20 * i, time_ps=dt * i, positions_A=positions[i],
                                    cell_A=np.eye(3) * 20.0, numbers=numbers)


def test_analysis_recovers_the_activation_energy(tmp_path):
    config = load_config(DiffusionConfig, _config(tmp_path / "diffusion.yaml"))
    _trajectories(config)
    summary = analyse_run(config, progress=False)
    assert summary["status"] == "finished"
    fit = summary["results"]["arrhenius"]["diffusion"]["Li"]
    assert abs(fit["activation_eV"] - EA) < 3 * fit["activation_err_eV"], fit
    assert 0 < fit["activation_err_eV"] < 0.05
    sigma_fit = summary["results"]["arrhenius"]["conductivity_sigma_T"]
    assert abs(sigma_fit["activation_eV"] - EA) < 3 * sigma_fit["activation_err_eV"]
    run = Path(config.output_dir)
    for name in ("diffusion.csv", "conductivity.csv", "arrhenius.json", "summary.md", "arrhenius.png",
                 "msd_all.png", "run_summary.json"):
        assert (run / "analysis" / name).stat().st_size > 0, name
    with (run / "analysis" / "diffusion.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["temperature_K"]) for r in rows] == list(TEMPERATURES)
    for row, temperature in zip(rows, TEMPERATURES):
        D = float(row["D_A2_per_ps"])
        assert abs(D - _D(temperature)) < 3.5 * float(row["D_err_A2_per_ps"])
        assert float(row["D_cm2_per_s"]) == pytest.approx(1e-4 * D)
        assert row["diffusive"] == "1"
    markdown = (run / "analysis" / "summary.md").read_text()
    assert "Ea (eV)" in markdown and "D_Li" in markdown
    per_temperature = temperature_dir(run, 800.0) / "analysis"
    for name in ("diffusion.json", "msd.csv", "grid.csv", "van_hove.csv", "displacements.h5", "msd.png",
                 "alpha2.png", "van_hove.png"):
        assert (per_temperature / name).stat().st_size > 0, name
    detail = json.loads((per_temperature / "diffusion.json").read_text())
    assert detail["species"]["Li"]["tracer"]["method"].startswith("bootstrap over particles")
    assert detail["species"]["Li"]["window"]["rule"]["alpha2_tolerance"] == 0.1
    assert detail["conductivity_nernst_einstein"]["sigma_S_per_cm"] > 0


def test_missing_trajectory_fails_after_writing_the_others(tmp_path):
    config = load_config(DiffusionConfig, _config(tmp_path / "diffusion.yaml"))
    _trajectories(config, skip=(800.0,))
    with pytest.raises(RunFailed, match="1 of 3 temperature.*800 K"):
        analyse_run(config, progress=False)
    run = Path(config.output_dir)
    assert (temperature_dir(run, 600.0) / "analysis" / "diffusion.json").is_file()
    assert (run / "analysis" / "arrhenius.json").is_file()  # from the two temperatures that worked
    summary = json.loads((run / "analysis" / "run_summary.json").read_text())
    assert summary["status"] == "failed" and "800" in summary["error"]


def test_cli_analyses_a_run_directory_again(tmp_path):
    config = load_config(DiffusionConfig, _config(tmp_path / "diffusion.yaml"))
    _trajectories(config)
    save_config(config, rank=0)
    result = run_cli("diffusion", "--analyse-only", str(config.output_dir), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "Li: Ea = " in result.stderr
    assert (Path(config.output_dir) / "analysis" / "summary.md").is_file()


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"conductivity.charges_e has no charge for mobile species \['Li'\]"):
        load_config(DiffusionConfig, _config(tmp_path / "a.yaml", conductivity={"charges_e": {"Cl": -1}}))
    with pytest.raises(ConfigError, match="'temperatures_K' .*distinct"):
        load_config(DiffusionConfig, _config(tmp_path / "b.yaml", temperatures_K=[600, 600]))
    with pytest.raises(ConfigError, match="unknown key 'analysis.window'"):
        load_config(DiffusionConfig, _config(tmp_path / "c.yaml", analysis={"window": 3}))
    with pytest.raises(ConfigError, match="exactly one of duration_ps or duration_ns"):
        load_config(DiffusionConfig, _config(tmp_path / "d.yaml", production={"duration_ps": 1, "duration_ns": 1}))
    with pytest.raises(ConfigError, match="schedule"):
        load_config(DiffusionConfig, _config(tmp_path / "e.yaml", schedule={"kind": "parallel"}))
