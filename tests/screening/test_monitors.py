"""The LAMMPS-side monitors agree with the same quantities computed in Python; log timings parse."""

from __future__ import annotations

import numpy as np
import pytest
from ase.neighborlist import neighbor_list

from simkit.lammps import dynamics
from simkit.lammps.monitors import LogTail, StabilityMonitor, parse_loop_timings
from simkit.lammps.session import LammpsSession, evaluate_structures
from simkit.structures.geometry import min_pair_distance
from tests.screening.helpers import si_cell, si_snap


def test_monitor_matches_python_forces_distances_and_coordination(rng):
    atoms = si_cell().repeat(2)
    atoms.positions += rng.normal(0.0, 0.12, atoms.positions.shape)
    potential = si_snap()
    cutoff = 2.9
    with LammpsSession() as session:
        session.create_system(atoms, potential.elements)
        session.set_potential(potential)
        monitor = StabilityMonitor(session, coordination_cutoff_A=cutoff)
        session.command("run 0 post no")
        sample = monitor.sample()
    reference = evaluate_structures([atoms], potential)[0]
    coordination = np.bincount(neighbor_list("i", atoms, cutoff), minlength=len(atoms))
    assert sample.step == 0
    assert sample.max_force_eV_per_A == pytest.approx(np.linalg.norm(reference.forces_eV_per_A, axis=1).max(), rel=1e-9)
    assert sample.min_distance_A == pytest.approx(min_pair_distance(atoms), rel=1e-9)
    assert sample.mean_coordination == pytest.approx(coordination.mean(), rel=1e-12)
    assert sample.max_coordination == coordination.max()
    assert sample.potential_energy_eV == pytest.approx(reference.energy_eV, rel=1e-12)
    assert sample.finite
    assert 3.0 < sample.mean_coordination < 5.0  # rattled diamond: the test is not between trivial values


def test_loop_timing_of_a_real_run(tmp_path):
    atoms = si_cell()
    potential = si_snap()
    log_path = tmp_path / "lammps.log"
    with LammpsSession(log_path=log_path) as session:
        session.create_system(atoms, potential.elements)
        session.set_potential(potential)
        dynamics.set_timestep(session, 1.0)
        dynamics.create_velocities(session, 300.0, seed=1)
        dynamics.add_nve(session, "nve")
        tail = LogTail(session, log_path)
        session.command("run 5 post no")
        assert parse_loop_timings(tail.new_text())[-1].sections_s == {}  # post no: no breakdown
        session.command("run 20 pre no post yes")
        timings = parse_loop_timings(tail.new_text())
    assert len(timings) == 1
    timing = timings[0]
    assert (timing.steps, timing.atoms, timing.procs, timing.openmp_threads) == (20, 8, 1, 1)
    assert {"Pair", "Neigh", "Comm", "Output", "Modify", "Other"} <= set(timing.sections_s)
    assert sum(timing.sections_s.values()) == pytest.approx(timing.loop_time_s, rel=0.02)
    assert timing.sections_s["Pair"] > 0.5 * timing.loop_time_s  # SNAP dominates
    # The Performance line and the loop time say the same thing (to LAMMPS's printed precision).
    assert timing.performance["katom-step/s"] * 1000 == pytest.approx(timing.atom_steps_per_s, rel=2e-3)
    assert timing.performance["timesteps/s"] == pytest.approx(20 / timing.loop_time_s, rel=2e-3)


def test_parse_multi_rank_breakdown_text():
    text = """
Loop time of 0.0468193 on 4 procs for 20 steps with 8 atoms

Performance: 36.908 ns/day, 0.650 hours/ns, 427.174 timesteps/s, 3.417 katom-step/s
32.4% CPU use with 4 MPI tasks x 1 OpenMP threads

MPI task timing breakdown:
Section |  min time  |  avg time  |  max time  |%varavg| %total
---------------------------------------------------------------
Pair    | 0.0027299  | 0.0057374  | 0.014347   |   6.6 | 12.25
Neigh   | 0          | 0          | 0          |   0.0 |  0.00
Comm    | 0.031374   | 0.040201   | 0.043283   |   2.5 | 85.86
Output  | 0.00013982 | 0.00017594 | 0.00023774 |   0.0 |  0.38
Modify  | 3.463e-06  | 9.4873e-06 | 1.2671e-05 |   0.0 |  0.02
Other   |            | 0.0006955  |            |       |  1.49

Nlocal:              2 ave           5 max           1 min
"""
    (timing,) = parse_loop_timings(text)
    assert timing.procs == 4 and timing.cpu_use_percent == 32.4
    assert timing.sections_s["Comm"] == 0.040201 and timing.sections_max_s["Comm"] == 0.043283
    assert timing.sections_s["Modify"] == 9.4873e-06
    assert timing.sections_s["Other"] == 0.0006955 and "Other" not in timing.sections_max_s
    assert timing.performance == {"ns/day": 36.908, "hours/ns": 0.65, "timesteps/s": 427.174, "katom-step/s": 3.417}


@pytest.mark.parametrize(("line", "katom"), [
    ("Performance: 1.2 ns/day, 20 hours/ns, 14.1 timesteps/s, 3.417 katom-step/s", 3.417),
    ("Performance: 1.2 ns/day, 20 hours/ns, 14.1 timesteps/s, 945.2 atom-step/s", 0.9452),  # slow: no prefix
    ("Performance: 1.2 ns/day, 20 hours/ns, 14.1 timesteps/s, 2.5 Matom-step/s", 2500.0),
    ("Performance: 1.2 ns/day, 20 hours/ns, 14.1 timesteps/s", None),
])
def test_lammps_performance_figure_whatever_prefix_it_is_printed_with(line, katom):
    (timing,) = parse_loop_timings(f"Loop time of 0.5 on 1 procs for 20 steps with 64 atoms\n\n{line}\n")
    assert timing.katom_steps_per_s == (None if katom is None else pytest.approx(katom))
