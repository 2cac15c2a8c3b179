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


def test_a_frame_without_cell_or_periodic_axes_is_searched_as_it_stands():
    # An extended XYZ frame without a Lattice has a zero cell and no periodic axis: no images to add, and
    # the padding used to solve with the zero cell (numpy's LinAlgError, a traceback from analyse).
    from ase.neighborlist import neighbor_list

    cluster = bulk("Cu", "fcc", 3.615, cubic=True).repeat(2)
    cluster.set_cell(np.zeros((3, 3)))
    cluster.pbc = False
    mine = neighbour_list(cluster.positions, np.zeros((3, 3)), (False,) * 3, 3.0)
    i, j, d = neighbor_list("ijd", cluster, 3.0)
    assert len(mine.i) == len(i) > 0
    assert sorted(zip(mine.i, mine.j)) == sorted(zip(i, j))
    assert np.allclose(np.sort(mine.distances), np.sort(d))


def _write(path, atoms, frames=2):
    from ase.io import write

    write(path, [atoms] * frames, format="extxyz")
    return path


def test_analyse_on_extended_xyz_without_a_lattice(tmp_path):
    from tests.fuzz.harness import run_in_process

    cluster = bulk("Cu", "fcc", 3.615, cubic=True).repeat(2)
    cluster.set_cell(np.zeros((3, 3)))
    cluster.pbc = False
    path = _write(tmp_path / "cluster.extxyz", cluster)
    assert "Lattice" not in path.read_text()
    for name in ("angles", "coordination"):
        ended = run_in_process(["analyse", path, name, "--cutoff-A", "3", "--no-progress", "-o", tmp_path / name])
        assert ended.code == 0 and "Traceback" not in ended.stderr, ended.stderr
    # g(r) needs a density: refused by file and frame, no longer a traceback (or g = 0 with exit 0).
    ended = run_in_process(["analyse", path, "rdf", "--no-progress", "-o", tmp_path / "rdf"])
    assert ended.code == 2 and len(ended.lines) == 1, ended.stderr
    assert ended.lines[0].startswith(f"simkit analyse: error: {path}: frame 0: g(r) ")
    assert "no cell volume" in ended.lines[0]


def test_rdf_with_a_huge_r_max_is_refused_before_the_cell_is_padded(tmp_path):
    from simkit.analysis.options import RdfOptions
    from simkit.analysis.rdf import rdf_of_frames
    from tests.fuzz.harness import run_in_process

    copper = bulk("Cu", "fcc", 3.615, cubic=True).repeat(2)
    frames = [_frame(copper), _frame(copper, 1)]
    # 1e5 bins pass the bin limit, and the padded cell would hold ~1e17 images
    options = RdfOptions(r_max_A=1e5, bin_width_A=1.0)
    with pytest.raises(InputDataError) as refused:
        rdf_of_frames(frames, copper.numbers, options, source="run/traj.h5md")
    message = str(refused.value)
    assert message.startswith("run/traj.h5md: frame 0: a neighbour search to 100000 Å among 32 atoms")
    assert "atoms and periodic images" in message and "lower r_max_A" in message and "\n" not in message
    assert rdf_of_frames(frames, copper.numbers, RdfOptions(r_max_A=12.0)).frames == 2
    with pytest.raises(InputDataError, match="above memory_MiB = 0.01; lower r_max_A, or raise --memory-MiB"):
        rdf_of_frames(frames, copper.numbers, RdfOptions(r_max_A=12.0, memory_MiB=0.01))
    path = _write(tmp_path / "cu.extxyz", copper)
    ended = run_in_process(["analyse", path, "rdf", "--r-max-A", "1e5", "--bin-width-A", "1", "--no-progress",
                            "-o", tmp_path / "rdf"])
    assert ended.code == 2 and len(ended.lines) == 1, ended.stderr
    assert ended.lines[0].startswith(f"simkit analyse: error: {path}: frame 0: a neighbour search to 100000 Å")
    ended = run_in_process(["analyse", path, "rdf", "--r-max-A", "12", "--memory-MiB", "64", "--no-progress",
                            "-o", tmp_path / "rdf-ok"])
    assert ended.code == 0, ended.stderr
