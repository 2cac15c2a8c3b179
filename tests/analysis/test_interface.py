"""Interface height from slab crystalline fractions and its growth velocity, from profiles and from atoms."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.build import bulk

from simkit.analysis.crystallinity import CrystallinityModel, crystallinity_of_frames
from simkit.analysis.interface import (
    FrontStatus,
    growth_velocity,
    interface_positions,
    slab_centres_A,
)
from simkit.analysis.options import CrystallinityOptions
from simkit.errors import InputDataError
from simkit.io.h5md_reader import Frame
from simkit.units import M_PER_S_PER_A_PER_PS

SLAB_A = 2.0
CENTRES_A = (np.arange(30) + 0.5) * SLAB_A  # a 60 Å cell in 30 slabs


def _profiles(fronts_A: np.ndarray, top_crystal_A: float = 50.0, width_A: float = 1.5) -> np.ndarray:
    """Crystal below each front (a smooth step), amorphous up to top_crystal_A, crystal again above."""
    lower = 0.5 * (1 - np.tanh((CENTRES_A[None, :] - fronts_A[:, None]) / width_A))
    upper = 0.5 * (1 + np.tanh((CENTRES_A[None, :] - top_crystal_A) / width_A))
    return np.clip(lower + upper, 0, 1)


def test_velocity_of_a_noisy_front_is_recovered_within_its_uncertainty(rng):
    times_ps = np.arange(0.0, 400.0, 5.0)
    speed_A_per_ps = 0.05  # 5 m/s
    fronts_A = 12.0 + speed_A_per_ps * times_ps
    fractions = np.clip(_profiles(fronts_A) + rng.normal(0, 0.03, (len(times_ps), 30)), 0, 1)
    track = interface_positions(fractions, CENTRES_A, start_z_A=4.0)
    assert track.reason_counts() == {"found": len(times_ps)}
    assert np.abs(track.positions_A - fronts_A).max() < 1.0  # within half a slab of the imposed front
    fit = growth_velocity(times_ps, track.positions_A, window=(0.0, 400.0))
    assert M_PER_S_PER_A_PER_PS == pytest.approx(100.0)
    assert fit.points == len(times_ps)
    assert abs(fit.velocity_m_per_s - 5.0) < 3 * fit.velocity_stderr_m_per_s
    assert abs(fit.velocity_m_per_s - 5.0) < 3 * fit.velocity_block_stderr_m_per_s
    assert 0 < fit.velocity_stderr_m_per_s < 0.2 and fit.r_squared > 0.99
    assert fit.displacement_A == pytest.approx(speed_A_per_ps * (times_ps[-1] - times_ps[0]), rel=0.05)
    record = json.loads(json.dumps(fit.to_dict()))
    assert {"velocity_m_per_s", "velocity_stderr_m_per_s", "velocity_block_stderr_m_per_s"} <= set(record)
    assert len(record["block_velocities_m_per_s"]) == 4


def test_exact_linear_interpolation_and_only_the_templates_crystal_counts():
    # Slab centres 1, 3, 5, 7, 9 Å: crystal, crystal, 0.8, 0.2, then crystal again (must be ignored).
    profile = np.array([[1.0, 1.0, 0.8, 0.2, 1.0]])
    track = interface_positions(profile, np.arange(0.0, 11.0, 2.0), level=0.5)  # 6 edges -> 5 centres
    assert track.positions_A[0] == pytest.approx(5.0 + (0.8 - 0.5) / (0.8 - 0.2) * 2.0)
    down = interface_positions(profile, np.arange(1.0, 10.0, 2.0), start_z_A=9.5, direction="down")
    assert down.positions_A[0] == pytest.approx(9.0 - (1.0 - 0.5) / (1.0 - 0.2) * 2.0)


def test_frames_without_a_front_are_nan_with_a_countable_reason():
    fractions = np.array([
        [1.0, 1.0, 1.0, 1.0, 1.0],  # fully crystalline
        [0.1, 0.0, 0.2, 0.0, 0.1],  # fully amorphous
        [0.2, 0.9, 0.1, 0.0, 0.0],  # the crystal is not attached to the anchor
        [1.0, np.nan, np.nan, np.nan, np.nan],  # one non-empty slab
        [1.0, np.nan, 0.9, 0.1, 1.0],  # an empty slab is skipped
    ])
    centres = np.arange(1.0, 10.0, 2.0)
    track = interface_positions(fractions, centres)
    assert np.isnan(track.positions_A[:4]).all()
    assert track.positions_A[4] == pytest.approx(5.0 + 0.4 / 0.8 * 2.0)
    assert track.status[:4] == [FrontStatus.ALL_CRYSTALLINE, FrontStatus.ALL_AMORPHOUS,
                                FrontStatus.AMORPHOUS_AT_START, FrontStatus.TOO_FEW_SLABS]
    assert track.reason_counts() == {"all_crystalline": 1, "all_amorphous": 1, "amorphous_at_start": 1,
                                     "too_few_slabs": 1, "found": 1}
    # A range restriction: above 6 Å the slabs (0.1, 1.0) start amorphous.
    limited = interface_positions(fractions[4:], centres, z_min_A=6.0)
    assert limited.status == [FrontStatus.AMORPHOUS_AT_START]
    assert json.loads(json.dumps(track.to_dict()))["interface_z_A"][0] is None
    with pytest.raises(InputDataError, match="4 values for 5 slabs"):
        interface_positions(fractions, centres[:4])


def test_fewer_than_three_points_are_refused():
    times_ps = np.arange(6.0)
    heights_A = np.array([1.0, np.nan, 2.0, np.nan, np.nan, 4.0])
    with pytest.raises(InputDataError, match="2 frames with an interface .* in 0-3 ps; .* at least 3"):
        growth_velocity(times_ps, heights_A, window=(0.0, 3.0))
    fit = growth_velocity(times_ps, heights_A)  # three points over the whole run
    assert fit.points == 3 and np.isnan(fit.velocity_block_stderr_m_per_s)  # blocks of one point are not fitted


def test_slab_centres_follow_the_height_of_a_sheared_cell():
    cell = np.array([[10.0, 0, 0], [3.0, 8.0, 0], [2.0, 1.0, 20.0]])
    np.testing.assert_allclose(slab_centres_A(cell, 4), [2.5, 7.5, 12.5, 17.5])


def test_front_velocity_from_atoms_through_bond_order_crystallinity(rng):
    """Cu fcc with the atoms between a rising front and 36 Å rattled 0.6 Å: the chain atoms -> slabs -> velocity."""
    lattice_A = 3.615
    crystal = bulk("Cu", "fcc", lattice_A, cubic=True).repeat((3, 3, 12))
    crystal.positions[:, 2] += lattice_A / 4  # atomic planes in slab centres, not on slab edges
    cell = np.array(crystal.cell)
    options = CrystallinityOptions(method="bond_order", reference_lattice=f"fcc Cu {lattice_A}", slabs=24)
    model = CrystallinityModel(options, crystal.numbers)
    times_ps = np.arange(20.0)
    speed_A_per_ps = 1.0  # 100 m/s: the front crosses 19 Å (10 slabs) in 20 frames
    fronts_A = 8.0 + speed_A_per_ps * times_ps
    frames = []
    for k, front_A in enumerate(fronts_A):
        positions = crystal.positions + rng.normal(0, 0.03, crystal.positions.shape)  # a cold crystal
        z = crystal.positions[:, 2]
        amorphous = (z > front_A) & (z < 36.0)
        positions[amorphous] += rng.normal(0, 0.6, (amorphous.sum(), 3))
        frames.append(Frame(k, 100 * k, float(times_ps[k]), positions, cell, (True, True, True), crystal.numbers))
    result = crystallinity_of_frames(frames, model)
    assert result.fraction_by_region.shape == (20, 24)
    track = interface_positions(result.fraction_by_region, slab_centres_A(cell, 24), start_z_A=2.0)
    assert track.reason_counts() == {"found": 20}
    # The bond-order front sits a fixed distance from the imposed one (neighbours of rattled atoms lose bonds).
    assert np.abs(track.positions_A - fronts_A).max() < 3.0
    fit = growth_velocity(result.times_ps, track.positions_A)
    imposed_m_per_s = speed_A_per_ps * M_PER_S_PER_A_PER_PS
    assert abs(fit.velocity_m_per_s - imposed_m_per_s) < max(3 * fit.velocity_stderr_m_per_s, 0.02 * imposed_m_per_s)
    assert abs(fit.velocity_m_per_s - imposed_m_per_s) < 0.1 * imposed_m_per_s
