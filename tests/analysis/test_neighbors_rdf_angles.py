"""Neighbour search, g(r), bond angles and coordination on crystals with known shells."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.neighborlist import neighbor_list

from simkit.analysis.angles import AngleAccumulator, angles_of_frames
from simkit.analysis.coordination import coordination_numbers, coordination_of_frames
from simkit.analysis.neighbors import nearest_neighbours, neighbour_list
from simkit.analysis.options import AngleOptions, CoordinationOptions, RdfOptions
from simkit.analysis.rdf import RdfAccumulator, RdfResult, rdf_of_frames
from simkit.io.h5md_reader import Frame


def _frame(atoms, index=0) -> Frame:
    return Frame(index=index, step=index, time_ps=float(index), positions_A=atoms.positions.copy(),
                 cell_A=np.array(atoms.cell), pbc=tuple(atoms.pbc), numbers=atoms.numbers.copy())


@pytest.mark.parametrize("cutoff", [3.0, 7.5])  # 7.5 Å exceeds half the small cell: several images count
def test_neighbour_list_matches_ase_in_a_skewed_cell(rng, cutoff):
    atoms = bulk("Cu", "fcc", 3.615).repeat((2, 3, 2))
    atoms.set_cell(np.array(atoms.cell) @ np.array([[1, 0.1, 0], [0.2, 1, 0.05], [0, 0.3, 1]]), scale_atoms=True)
    atoms.positions += rng.normal(0, 0.2, atoms.positions.shape) + 40.0  # far outside the cell: wrapping matters
    mine = neighbour_list(atoms.positions, np.array(atoms.cell), atoms.pbc, cutoff)
    i, j, d = neighbor_list("ijd", atoms, cutoff)
    assert len(mine.i) == len(i)
    order = np.lexsort((d, i))
    np.testing.assert_array_equal(mine.i, i[order])
    np.testing.assert_allclose(mine.distances, d[order], atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(mine.vectors, axis=1), mine.distances, atol=1e-9)
    chosen, too_few = nearest_neighbours(atoms.positions, np.array(atoms.cell), atoms.pbc, 12, cutoff)
    assert not too_few.any() if cutoff > 3.5 else True
    assert np.all(chosen.counts()[~too_few] == 12)


def test_rdf_shells_and_coordination_of_fcc_and_diamond():
    copper = bulk("Cu", "fcc", 3.615, cubic=True).repeat(3)
    result = rdf_of_frames([_frame(copper)], copper.numbers, RdfOptions(r_max_A=5.5, bin_width_A=0.01))
    g, n, r = result.g["Cu-Cu"], result.coordination["Cu-Cu"], result.r_A
    a = 3.615
    # Peaks sit at the FCC shells a/√2, a, a√(3/2), a√2 ...
    assert result.first_peak_A("Cu-Cu") == pytest.approx(a / np.sqrt(2), abs=0.01)
    occupied = r[g > 0]
    for shell in (a / np.sqrt(2), a, a * np.sqrt(1.5), a * np.sqrt(2)):
        assert np.min(np.abs(occupied - shell)) < 0.01
    assert np.all(np.min(np.abs(occupied[:, None] - [a / np.sqrt(2), a, a * np.sqrt(1.5), a * np.sqrt(2)]), axis=1) < 0.01)
    # ... and integrating g (the running coordination) gives 12, 12+6, 12+6+24, 12+6+24+12.
    for radius, expected in ((3.0, 12), (4.0, 18), (4.8, 42), (5.3, 54)):
        assert n[np.searchsorted(r, radius)] == pytest.approx(expected)
    # g is normalised with the density of the *other* atoms, (N - 1) / V.
    integral = 4 * np.pi * (len(copper) - 1) / copper.get_volume() * np.cumsum(g * r**2 * 0.01)
    assert integral[np.searchsorted(r, 3.0)] == pytest.approx(12, rel=1e-4)

    silicon = bulk("Si", "diamond", 5.431, cubic=True).repeat(2)
    result = rdf_of_frames([_frame(silicon)], silicon.numbers, RdfOptions(r_max_A=4.5, bin_width_A=0.01))
    assert result.first_peak_A() == pytest.approx(5.431 * np.sqrt(3) / 4, abs=0.01)
    coordination = result.coordination["Si-Si"]
    assert coordination[np.searchsorted(result.r_A, 2.6)] == 4
    assert coordination[np.searchsorted(result.r_A, 4.0)] == 16


def test_partial_rdf_of_rocksalt_and_cell_shape_independence():
    salt = bulk("NaCl", "rocksalt", 5.64, cubic=True).repeat(2)
    result = rdf_of_frames([_frame(salt)], salt.numbers, RdfOptions(r_max_A=4.5, bin_width_A=0.01))
    at = lambda key, radius: result.coordination[key][np.searchsorted(result.r_A, radius)]  # noqa: E731
    assert at("Na-Cl", 3.0) == 6 and at("Cl-Na", 3.0) == 6 and at("Na-Na", 3.0) == 0
    assert at("Na-Na", 4.1) == 12 and at("Cl-Cl", 4.1) == 12 and at("total", 4.1) == 18
    assert result.first_peak_A("Na-Cl") == pytest.approx(2.82, abs=0.01)
    # The primitive (triclinic) cell describes the same crystal: identical g(r). (Bin edges are
    # kept off the shell radii, where rounding could tip a pair into the neighbouring bin.)
    options = RdfOptions(r_max_A=4.5, bin_width_A=0.0137)
    primitive = bulk("NaCl", "rocksalt", 5.64).repeat((4, 4, 2))  # same atom count as the cubic cell
    other = rdf_of_frames([_frame(primitive)], primitive.numbers, options)
    cubic = rdf_of_frames([_frame(salt)], salt.numbers, options)
    for key in cubic.g:
        np.testing.assert_allclose(other.g[key], cubic.g[key], atol=1e-9)


def test_first_peak_ignores_noise_crossing_one_on_the_rising_edge(rng):
    r = np.arange(0.01, 6.0, 0.02)
    g = 3.0 * np.exp(-0.5 * ((r - 2.5) / 0.15) ** 2) + 2.0 * np.exp(-0.5 * ((r - 4.0) / 0.3) ** 2)
    g = g + rng.normal(0.0, 0.03, r.shape) * (r > 1.5)
    rising = int(np.argmin(np.abs(r - 2.2)))
    g[rising - 2:rising + 2] = [0.95, 1.08, 0.97, 1.3]  # noise: above 1, below, above again
    result = RdfResult(r, np.append(r - 0.01, r[-1] + 0.01), {"Cu-Cu": g}, {}, 1, ("Cu",))
    assert result.first_peak_A() == pytest.approx(2.5, abs=0.03)


def test_rdf_of_an_ideal_gas_is_one(rng):
    frames = []
    for k in range(20):
        positions = rng.uniform(0, 20.0, (400, 3))
        frames.append(Frame(k, k, float(k), positions, np.eye(3) * 20.0, (True,) * 3, np.full(400, 18)))
    result = rdf_of_frames(frames, [18], RdfOptions(r_max_A=8.0, bin_width_A=0.5))
    assert np.mean(result.g["Ar-Ar"][4:]) == pytest.approx(1.0, abs=0.03)


def test_bond_angles_of_fcc_and_diamond():
    copper = bulk("Cu", "fcc", 3.615, cubic=True).repeat(2)
    result = angles_of_frames([_frame(copper)], copper.numbers, AngleOptions(cutoff_A=3.0, bin_width_deg=2.0))
    density = result.distributions["Cu-Cu-Cu"] * 2.0  # probability per 2° bin
    share = lambda lo, hi: density[(result.angles_deg > lo) & (result.angles_deg < hi)].sum()  # noqa: E731
    # 12 neighbours: 66 pairs at 60° (24), 90° (12), 120° (24), 180° (6).
    assert share(55, 65) == pytest.approx(24 / 66)
    assert share(85, 95) == pytest.approx(12 / 66)
    assert share(115, 125) == pytest.approx(24 / 66)
    assert share(175, 180.1) == pytest.approx(6 / 66)
    assert result.triplets["Cu-Cu-Cu"] == 66 * len(copper)

    silicon = bulk("Si", "diamond", 5.431, cubic=True)
    accumulator = AngleAccumulator(silicon.numbers, AngleOptions(cutoff_A=2.6))
    accumulator.add(silicon.positions, np.array(silicon.cell), silicon.pbc, silicon.numbers)
    result = accumulator.result()
    peak = result.angles_deg[np.argmax(result.distributions["Si-Si-Si"])]
    assert peak == pytest.approx(109.47, abs=0.5) and result.triplets["Si-Si-Si"] == 6 * len(silicon)


def test_coordination_by_species_and_pair_cutoffs():
    salt = bulk("NaCl", "rocksalt", 5.64, cubic=True).repeat(2)
    table = coordination_numbers(salt.positions, np.array(salt.cell), salt.pbc, salt.numbers, (11, 17),
                                 np.array([[4.1, 3.0], [3.0, 3.5]]))
    na = salt.numbers == 11
    assert np.all(table[na] == [12, 6]) and np.all(table[~na] == [6, 0])
    options = CoordinationOptions(cutoff_A=3.0, pair_cutoffs_A={"Na-Na": 4.1})
    result = coordination_of_frames([_frame(salt), _frame(salt, 1)], salt.numbers, options)
    np.testing.assert_array_equal(result.mean["Na-Cl"], [6, 6])
    np.testing.assert_array_equal(result.mean["Na-*"], [18, 18])
    np.testing.assert_array_equal(result.mean["Cl-*"], [6, 6])
    assert result.histogram["Na"][18] == 1.0


def test_rdf_accumulator_refuses_nothing_and_normalises_over_frames():
    copper = bulk("Cu", "fcc", 3.615, cubic=True).repeat(3)
    one = RdfAccumulator(copper.numbers, 5.0, 0.05)
    one.add(copper.positions, np.array(copper.cell), copper.pbc, copper.numbers)
    two = RdfAccumulator(copper.numbers, 5.0, 0.05)
    for _ in range(2):
        two.add(copper.positions, np.array(copper.cell), copper.pbc, copper.numbers)
    np.testing.assert_allclose(two.result().g["Cu-Cu"], one.result().g["Cu-Cu"])


def test_images_across_a_periodic_face_count_for_atoms_outside_an_open_axis():
    # Two atoms 1 Å apart across the periodic x boundary, both above a slab cell open along z.
    cell = np.diag([10.0, 10.0, 5.0])
    positions = np.array([[0.5, 5.0, 12.0], [9.5, 5.0, 12.0]])
    pairs = neighbour_list(positions, cell, (True, True, False), 1.5)
    assert len(pairs.i) == 2
    np.testing.assert_allclose(pairs.distances, 1.0)
