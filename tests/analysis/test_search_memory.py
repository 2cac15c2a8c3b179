"""Angles and coordination estimate a frame's neighbour search before running it: a cutoff that would fill the
memory is refused naming the file and the frame, with what to change; the estimate follows the real pair count."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk, fcc111

from simkit.analysis.angles import angles_of_frames
from simkit.analysis.coordination import coordination_of_frames
from simkit.analysis.neighbors import check_search_memory, estimate_search, neighbour_list
from simkit.analysis.options import AngleOptions, CoordinationOptions
from simkit.errors import InputDataError
from tests.analysis.test_neighbors_rdf_angles import _frame


def _real(atoms, cutoff):
    counts = neighbour_list(atoms.positions, np.array(atoms.cell), atoms.pbc, cutoff).counts()
    return counts.sum(), (counts * (counts - 1) // 2).sum()


@pytest.mark.parametrize("cutoff", [3.0, 6.0, 9.0])  # 9 Å is past half the skewed cell: several images count
def test_the_estimate_follows_the_real_counts_in_a_periodic_cell(rng, cutoff):
    atoms = bulk("Cu", "fcc", 3.615).repeat((3, 4, 3))
    atoms.set_cell(np.array(atoms.cell) @ np.array([[1, 0.1, 0], [0.2, 1, 0.05], [0, 0.3, 1]]), scale_atoms=True)
    atoms.positions += rng.normal(0, 0.1, atoms.positions.shape)
    size = estimate_search(atoms.positions, np.array(atoms.cell), atoms.pbc, cutoff)
    pairs, triplets = _real(atoms, cutoff)
    assert size.pairs == pytest.approx(pairs, rel=0.5)  # shells make the count a step function of the cutoff
    assert size.triplets == pytest.approx(triplets, rel=1.0)


def test_a_slab_is_estimated_from_the_space_its_atoms_fill_not_its_vacuum():
    slab = fcc111("Cu", (6, 6, 4), a=3.615, vacuum=40.0)
    slab.pbc = (True, True, False)
    size = estimate_search(slab.positions, np.array(slab.cell), slab.pbc, 3.0)
    pairs, _ = _real(slab, 3.0)
    assert pairs / 2 < size.pairs < pairs * 2
    cluster = bulk("Cu", "fcc", 3.615, cubic=True).repeat(3)
    assert estimate_search(cluster.positions, np.zeros((3, 3)), (False,) * 3, 3.0).pairs > 0


def test_a_huge_cutoff_is_refused_before_any_search_naming_file_and_frame():
    copper = bulk("Cu", "fcc", 3.615, cubic=True).repeat(2)
    frames = [_frame(copper), _frame(copper, 1)]
    for cutoff in (500.0, 1e300):  # the first would pad the cell with ~2e9 images per atom
        with pytest.raises(InputDataError) as refused:
            angles_of_frames(frames, copper.numbers, AngleOptions(cutoff_A=cutoff), source="run/traj.h5md")
        message = str(refused.value)
        assert message.startswith("run/traj.h5md: frame 0: a neighbour search to ") and "angle triplets" in message
        assert "lower cutoff_A" in message and "memory_MiB = 4096" in message and "\n" not in message
    options = CoordinationOptions(cutoff_A=3.0, pair_cutoffs_A={"Cu-Cu": 2000.0})  # the largest cutoff counts
    with pytest.raises(InputDataError, match=r"^run/traj.h5md: frame 0: .* to 2000 Å among 32 atoms"):
        coordination_of_frames(frames, copper.numbers, options, source="run/traj.h5md")


def test_the_budget_is_the_limit_and_ordinary_cutoffs_pass():
    copper = bulk("Cu", "fcc", 3.615, cubic=True).repeat(3)
    frames = [_frame(copper)]
    assert angles_of_frames(frames, copper.numbers, AngleOptions(cutoff_A=3.0)).frames == 1
    assert coordination_of_frames(frames, copper.numbers, CoordinationOptions(cutoff_A=5.0)).frames == 1
    with pytest.raises(InputDataError, match="above memory_MiB = 0.01; .* raise --memory-MiB"):
        coordination_of_frames(frames, copper.numbers, CoordinationOptions(cutoff_A=3.0, memory_MiB=0.01))
    # Coordination holds no triplets: the same cutoff costs it far less than angles.
    cell = np.array(copper.cell)
    check_search_memory(copper.positions, cell, copper.pbc, 12.0, 50.0, angles=False, where="x")
    with pytest.raises(InputDataError, match="^x: "):
        check_search_memory(copper.positions, cell, copper.pbc, 12.0, 50.0, angles=True, where="x")
