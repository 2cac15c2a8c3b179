"""Survival screens that grade ACE extrapolation: max_gamma fails a replica as 'extrapolation'."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.io import read

from simkit.lammps.potentials.ace import AcePotential
from simkit.screening.settings import SurvivalSettings
from simkit.screening.survival import run_survival
from tests.ace import gamma_helpers


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A random (unfitted) ACE with an active set from rattled cells: it heats up within 0.1 ps at 1500 K."""
    directory = tmp_path_factory.mktemp("graded")
    return gamma_helpers.graded_model(directory)


def screen(potential, tmp_path, max_gamma=None):
    settings = SurvivalSettings(temperatures_K=[1500], replicas=2, duration_ps=1.0, nve_duration_ps=0,
                                target_atoms=27, check_every_steps=20,
                                thresholds={"max_gamma": max_gamma} if max_gamma else {})
    return run_survival(potential, settings, structures=[gamma_helpers.cell()], workers=0,
                        structure_dir=tmp_path / "extrapolation")


def test_gamma_fails_a_replica_no_later_than_its_physical_failure_and_keeps_the_cell(graded, tmp_path):
    yace, plugin_file = graded
    potential = AcePotential(yace, activeset=plugin_file)
    plain = screen(potential, tmp_path / "plain")
    watched = screen(potential, tmp_path / "watched", max_gamma=3.0)
    assert all(r.failed and r.mode != "extrapolation" for r in plain.replicas)
    assert all(r.max_gamma is None for r in plain.replicas) and plain.max_gamma is None
    assert "extrapolation" in watched.failure_modes
    for before, after in zip(plain.replicas, watched.replicas):
        # same seeds: the grade ends the replica at or before the check where physics failed
        assert after.failure_time_ps <= before.failure_time_ps
        assert after.max_gamma is not None
        if after.mode == "extrapolation":
            cell = read(after.extrapolation_structure)
            assert cell.arrays["gamma"].max() == pytest.approx(after.max_gamma) and after.max_gamma > 3.0
            assert len(cell) == 27 and "gamma = " in after.message
        else:  # a physical limit broke at the same check: that is what is reported
            assert after.failure_time_ps == before.failure_time_ps and after.extrapolation_structure is None
    document = watched.to_dict()
    assert document["max_gamma"] == pytest.approx(max(r.max_gamma for r in watched.replicas))
    assert json.loads(json.dumps(document))["failure_modes"]["extrapolation"] >= 1


def test_threshold_without_an_active_set_is_a_setup_error(graded, tmp_path):
    yace, _ = graded
    from simkit.errors import SimkitError

    with pytest.raises(SimkitError, match="active set"):
        screen(AcePotential(yace), tmp_path, max_gamma=3.0)


def test_max_gamma_must_exceed_one():
    with pytest.raises(ValueError, match="greater than 1"):
        SurvivalSettings(temperatures_K=[1000], thresholds={"max_gamma": 1.0})


def test_gamma_is_graded_with_no_threshold_crossed(graded, tmp_path):
    yace, plugin_file = graded
    settings = SurvivalSettings(temperatures_K=[10], replicas=1, duration_ps=0.1, nve_duration_ps=0,
                                target_atoms=27, check_every_steps=10, thresholds={"max_gamma": 1000.0})
    report = run_survival(AcePotential(yace, activeset=plugin_file), settings, structures=[gamma_helpers.cell()],
                          workers=0)
    (replica,) = report.replicas
    # the unfitted potential still heats the cell (a physical failure, not an extrapolation one)
    assert replica.mode != "extrapolation" and replica.extrapolation_structure is None
    assert 0 < replica.max_gamma < 1000 and report.max_gamma == replica.max_gamma and np.isfinite(report.max_gamma)


def test_capture_keeps_the_first_extrapolative_cell_without_failing_the_replica(graded, tmp_path):
    yace, plugin_file = graded
    settings = SurvivalSettings(temperatures_K=[1500], replicas=2, duration_ps=1.0, nve_duration_ps=0,
                                target_atoms=27, check_every_steps=20, capture_gamma=2.0)
    report = run_survival(AcePotential(yace, activeset=plugin_file), settings, structures=[gamma_helpers.cell()],
                          workers=0, structure_dir=tmp_path / "captured")
    assert "extrapolation" not in report.failure_modes  # capturing never fails a replica
    kept = [r for r in report.replicas if r.extrapolation_structure is not None]
    assert kept
    for replica in kept:
        cell = read(replica.extrapolation_structure)
        # the file holds the first check past 2 (the onset), not the blow-up after it
        onset = cell.arrays["gamma"].max()
        assert 2.0 < onset <= replica.max_gamma and cell.info["step"] % 20 == 0
    assert any(read(r.extrapolation_structure).arrays["gamma"].max() < r.max_gamma for r in kept)
