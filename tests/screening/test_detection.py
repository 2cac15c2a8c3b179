"""Failure detection arithmetic, the early-stop rule and threshold resolution (no LAMMPS)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from ase.build import bulk

from simkit.errors import ConfigError
from simkit.lammps.monitors import MonitorSample
from simkit.screening import detection
from simkit.screening.detection import Baseline, check_sample, classify_lammps_error, resolve_limits
from simkit.screening.replica import ReplicaResult, ReplicaStatus
from simkit.screening.scheduling import EarlyStop
from simkit.screening.settings import SurvivalSettings, SurvivalThresholds

LIMITS = detection.ResolvedLimits(
    max_force_eV_per_A=50.0, r_min_A=1.6, reference_min_distance_A=2.3, max_temperature_factor=2.0,
    nve_drift_eV_per_atom=0.005, coordination_cutoff_A=3.0, coordination_ratio_range=(0.25, 2.5),
    density_ratio_range=(0.5, 2.0),
)
BASELINE = Baseline(natoms=64, mean_coordination=4.0, volume_A3=1000.0)
HEALTHY = MonitorSample(
    step=100, time_ps=0.1, temperature_K=1100.0, potential_energy_eV=-300.0, total_energy_eV=-290.0,
    volume_A3=1000.0, max_force_eV_per_A=5.0, min_distance_A=2.1, mean_coordination=4.5, max_coordination=6.0,
)


def _check(nve_reference_eV=None, **changes):
    sample = dataclasses.replace(HEALTHY, **changes)
    return check_sample(sample, LIMITS, BASELINE, setpoint_K=1000.0, nve_reference_eV=nve_reference_eV)


def test_healthy_sample_passes():
    assert _check() is None
    assert _check(nve_reference_eV=-290.1) is None  # 0.1 eV / 64 atoms = 1.6 meV/atom < 5


@pytest.mark.parametrize(
    "changes, mode",
    [
        ({"potential_energy_eV": math.nan}, detection.FailureMode.NON_FINITE),
        ({"max_force_eV_per_A": math.inf}, detection.FailureMode.NON_FINITE),
        ({"min_distance_A": 1.59}, detection.FailureMode.CLOSE_PAIR),
        ({"max_force_eV_per_A": 50.1}, detection.FailureMode.LARGE_FORCE),
        ({"temperature_K": 2000.1}, detection.FailureMode.TEMPERATURE_RUNAWAY),
        ({"mean_coordination": 10.1}, detection.FailureMode.COORDINATION),
        ({"mean_coordination": 0.9}, detection.FailureMode.COORDINATION),
        ({"volume_A3": 499.0}, detection.FailureMode.DENSITY),  # density x 2.004
        ({"volume_A3": 2001.0}, detection.FailureMode.DENSITY),
    ],
)
def test_each_limit_is_detected(changes, mode):
    failure = _check(**changes)
    assert failure is not None and failure.mode == mode


def test_limits_at_their_edges_pass():
    assert _check(min_distance_A=1.6, max_force_eV_per_A=50.0, temperature_K=2000.0, mean_coordination=10.0) is None


def test_temperature_limit_stays_outside_thermal_fluctuations():
    # 8 atoms: sigma_T / T = sqrt(2/24) = 0.289, so 2x the set point is only 3.5 sigma away.
    assert detection.temperature_ceiling_factor(2.0, 8) == pytest.approx(1 + 6 * (2 / 24) ** 0.5)
    assert detection.temperature_ceiling_factor(2.0, 1000) == 2.0
    small = Baseline(natoms=8, mean_coordination=4.0, volume_A3=1000.0)
    sample = dataclasses.replace(HEALTHY, temperature_K=2500.0)
    assert check_sample(sample, LIMITS, small, setpoint_K=1000.0) is None
    assert check_sample(dataclasses.replace(sample, temperature_K=2800.0), LIMITS, small, setpoint_K=1000.0).mode == (
        detection.FailureMode.TEMPERATURE_RUNAWAY)


def test_energy_drift_only_counts_in_nve():
    assert _check(total_energy_eV=-289.0) is None  # no NVE reference: thermostatted
    failure = _check(nve_reference_eV=-289.6, total_energy_eV=-290.0)  # 0.4 eV / 64 = 6.25 meV/atom
    assert failure.mode == detection.FailureMode.ENERGY_DRIFT


def test_density_is_not_checked_at_fixed_volume():
    fixed = dataclasses.replace(LIMITS, density_ratio_range=None)
    sample = dataclasses.replace(HEALTHY, volume_A3=100.0)
    assert check_sample(sample, fixed, BASELINE, setpoint_K=1000.0) is None


@pytest.mark.parametrize(
    "message, mode",
    [
        ("Lost atoms: original 64 current 63", detection.FailureMode.LOST_ATOMS),
        ("Neighbor list overflow, boost neigh_modify one", detection.FailureMode.NEIGHBOR_OVERFLOW),
        ("Non-numeric atom coords - simulation unstable", detection.FailureMode.NON_FINITE),
        ("Out of range atoms - cannot compute PPPM", detection.FailureMode.LAMMPS_ERROR),
    ],
)
def test_lammps_errors_are_classified(message, mode):
    assert classify_lammps_error(message) == mode


def _result(status):
    return ReplicaResult(0, 1000.0, 0, 0, 0, 8, status=status)


def test_early_stop_triggers_when_minimum_is_out_of_reach():
    stop = EarlyStop(total=16, min_fraction=0.75)  # 12 must survive: 4 failures allowed
    assert stop.allowed_failures == 4
    for _ in range(4):
        stop.record(_result(ReplicaStatus.FAILED))
    stop.record(_result(ReplicaStatus.SURVIVED))
    stop.record(_result(ReplicaStatus.CANCELLED))
    assert not stop.triggered
    stop.record(_result(ReplicaStatus.FAILED))
    assert stop.triggered


def test_early_stop_edge_cases():
    assert EarlyStop(total=3, min_fraction=1 / 3).allowed_failures == 2
    never = EarlyStop(total=4, min_fraction=None)
    for _ in range(4):
        never.record(_result(ReplicaStatus.FAILED))
    assert not never.triggered
    errored = EarlyStop(total=4, min_fraction=None)
    errored.record(_result(ReplicaStatus.ERROR))
    assert errored.triggered  # a replica that cannot start stops the screen
    with pytest.raises(ValueError):
        EarlyStop(total=4, min_fraction=0.0)


def test_reference_distance_and_coordination_cutoff_defaults():
    si = bulk("Si", "diamond", 5.431, cubic=True)
    nn = 5.431 * math.sqrt(3) / 4
    limits = resolve_limits(SurvivalThresholds(), potential_cutoff_A=4.9, starting_cells=[si.repeat(2)])
    assert limits.reference_min_distance_A == pytest.approx(nn)
    assert limits.r_min_A == pytest.approx(0.7 * nn)
    assert limits.coordination_cutoff_A == pytest.approx(1.3 * nn)
    assert limits.density_ratio_range is None

    compressed = si.copy()
    compressed.set_cell(si.cell * 0.9, scale_atoms=True)
    from_training = resolve_limits(
        SurvivalThresholds(r_min_fraction=0.5), potential_cutoff_A=4.9, starting_cells=[si],
        reference_structures=[si, compressed], npt=True,
    )
    assert from_training.reference_min_distance_A == pytest.approx(0.9 * nn)
    assert from_training.density_ratio_range == (0.5, 2.0)
    capped = resolve_limits(SurvivalThresholds(), potential_cutoff_A=2.5, starting_cells=[si])
    assert capped.coordination_cutoff_A == 2.5


def test_threshold_problems_are_config_errors():
    si = bulk("Si", "diamond", 5.431, cubic=True)
    with pytest.raises(ConfigError, match="already below r_min"):
        resolve_limits(SurvivalThresholds(reference_min_distance_A=3.5), potential_cutoff_A=4.9, starting_cells=[si])
    with pytest.raises(ConfigError, match="coordination_cutoff_A"):
        resolve_limits(SurvivalThresholds(coordination_cutoff_A=6.0), potential_cutoff_A=4.9, starting_cells=[si])


def test_settings_steps_and_validation():
    settings = SurvivalSettings(temperatures_K=[1000, 2000], replicas=3, duration_ps=0.25, timestep_fs=0.5)
    assert settings.steps(settings.duration_ps) == 500
    assert settings.replica_count == 6
    with pytest.raises(ValueError, match="distinct"):
        SurvivalSettings(temperatures_K=[1000, 1000])
    with pytest.raises(ValueError, match="npt"):
        SurvivalSettings(temperatures_K=[1000], pressure_bar=1.0)
    with pytest.raises(ValueError):
        SurvivalThresholds(coordination_ratio_range=(1.2, 2.0))
