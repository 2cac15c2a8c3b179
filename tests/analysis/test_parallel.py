"""Analyses under mpirun (frames split over ranks) give the serial run's numbers bitwise; large frames
are taken in blocks of atoms with the same result; one failing rank stops both."""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest
from ase.build import bulk

from simkit.analysis import crystallinity as crystallinity_module
from simkit.analysis.crystallinity import CrystallinityModel, analyse_crystallinity
from simkit.analysis.grains import analyse_grains
from simkit.analysis.options import CrystallinityOptions, GrainOptions, ProfileOptions, RdfOptions
from simkit.analysis.parallel import SPLIT, frame_blocks
from simkit.analysis.profiles import analyse_profiles
from simkit.analysis.rdf import analyse_rdf
from simkit.analysis.soap import SoapDescriptor, SoapParameters
from simkit.io import H5mdWriter, open_trajectory
from tests.conftest import BIN, run_cli

CASES = {
    "rdf": ["--r-max-A", "5"],
    "profiles": ["--bins", "6"],
    "crystallinity": ["--reference-lattice", "rocksalt NaCl 5.64", "--slabs", "3"],
    "grains": ["--reference-lattice", "rocksalt NaCl 5.64", "--q-neighbours", "0", "--min-grain-atoms", "5"],
}


def _binary_trajectory(path, rng, frames=5):
    """Rocksalt NaCl melting from one end: composition and order vary along z and over frames."""
    atoms = bulk("NaCl", "rocksalt", 5.64, cubic=True).repeat((3, 3, 5))
    z = atoms.positions[:, 2] / atoms.cell[2, 2]
    with H5mdWriter(path, observables=()) as writer:
        for k in range(frames):
            rattle = 0.05 + 0.6 * k / frames * (z > 0.5)
            noise = rng.normal(0.0, 1.0, atoms.positions.shape) * rattle[:, None]
            writer.append_frame(step=10 * k, time_ps=0.01 * k, cell_A=np.array(atoms.cell),
                                positions_A=atoms.positions + noise, symbols=atoms.get_chemical_symbols())
    return path


def test_frame_blocks_are_contiguous_even_and_never_empty():
    blocks = frame_blocks(np.arange(7), 3)
    assert [b.tolist() for b in blocks] == [[0, 1, 2], [3, 4], [5, 6]]
    assert [b.tolist() for b in frame_blocks(np.array([4, 9]), 4)] == [[4], [9]]
    assert frame_blocks(np.array([], dtype=int), 2) == []


@pytest.mark.parametrize("name,options,analyse", [
    ("rdf", RdfOptions(r_max_A=5.0), analyse_rdf),
    ("profiles", ProfileOptions(bins=6), analyse_profiles),
    ("crystallinity", CrystallinityOptions(reference_lattice="rocksalt NaCl 5.64", slabs=3), analyse_crystallinity),
    ("grains", GrainOptions(reference_lattice="rocksalt NaCl 5.64", q_neighbours=0, min_grain_atoms=5), analyse_grains),
])
def test_blocks_of_frames_merge_into_the_serial_result_bitwise(tmp_path, rng, name, options, analyse):
    path = _binary_trajectory(tmp_path / "t.h5md", rng)
    with open_trajectory(path) as trajectory:
        whole = analyse(trajectory, options, progress=False)
        indices = options.indices(trajectory)
        split = SPLIT[name]
        module = __import__(split.module, fromlist=[split.partial])
        parts = [getattr(module, split.partial)(trajectory, options, progress=False, frames=block)
                 for block in frame_blocks(indices, 3)]
    merged = split.merge(parts)
    whole_files, merged_files = whole.write(tmp_path / "whole"), merged.write(tmp_path / "merged")
    _assert_same_hdf5(whole_files["hdf5"], merged_files["hdf5"])
    assert whole_files["csv"].read_text() == merged_files["csv"].read_text()


def _assert_same_hdf5(a_path, b_path):
    with h5py.File(a_path) as a, h5py.File(b_path) as b:
        names = []
        a.visit(names.append)
        other = []
        b.visit(other.append)
        assert names == other
        for key in names:
            if isinstance(a[key], h5py.Dataset):
                assert np.array_equal(a[key][()], b[key][()], equal_nan=True), key


@pytest.mark.mpi
@pytest.mark.parametrize("name", sorted(CASES))
def test_mpirun_analysis_writes_the_serial_files(tmp_path, rng, name):
    path = _binary_trajectory(tmp_path / "t.h5md", rng)
    serial = run_cli("analyse", str(path), name, "--no-progress", "-o", str(tmp_path / "serial"), *CASES[name])
    assert serial.returncode == 0, serial.stderr
    parallel = run_cli("analyse", str(path), name, "--no-progress", "-o", str(tmp_path / "mpi"), *CASES[name],
                       np_ranks=2)
    assert parallel.returncode == 0, parallel.stderr
    assert "on 2 ranks" in parallel.stderr
    _assert_same_hdf5(tmp_path / "serial" / f"{name}.h5", tmp_path / "mpi" / f"{name}.h5")
    assert (tmp_path / "serial" / f"{name}.csv").read_text() == (tmp_path / "mpi" / f"{name}.csv").read_text()


_FAILING_RANK = """
import sys
from simkit.runtime.mpi import world
comm = world()
from simkit.analysis import profiles
from simkit.analysis.options import ProfileOptions
from simkit.analysis.parallel import run_split
from simkit.errors import SimkitError
real = profiles.profiles_of_frames
def broken(*args, **kwargs):
    if comm.Get_rank() == 1:
        raise ValueError("frame block unreadable on rank 1")
    return real(*args, **kwargs)
profiles.profiles_of_frames = broken
try:
    run_split(sys.argv[1], "profiles", ProfileOptions(bins=4), comm, progress=False)
except SimkitError as exc:
    print(f"rank {comm.Get_rank()} stopped: {exc}", flush=True)
    sys.exit(5)
print(f"rank {comm.Get_rank()} finished", flush=True)
"""


@pytest.mark.mpi
def test_a_rank_failing_on_its_block_stops_both(tmp_path, rng):
    path = _binary_trajectory(tmp_path / "t.h5md", rng)
    script = tmp_path / "fail.py"
    script.write_text(_FAILING_RANK)
    result = subprocess.run([str(BIN / "mpirun"), "-np", "2", sys.executable, str(script), str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    for rank in (0, 1):
        assert f"rank {rank} stopped:" in result.stdout and "unreadable on rank 1" in result.stdout, result.stdout


def test_soap_in_blocks_of_atoms_equals_one_block(rng):
    atoms = bulk("NaCl", "rocksalt", 5.64, cubic=True).repeat((2, 2, 3))
    atoms.positions += rng.normal(0.0, 0.2, atoms.positions.shape)
    descriptor = SoapDescriptor(SoapParameters(cutoff_A=4.5, n_max=4, l_max=4), sorted(set(atoms.numbers)))
    args = (atoms.positions, np.array(atoms.cell), atoms.pbc, atoms.numbers)
    whole = descriptor.compute(*args)
    blocks = descriptor.compute(*args, block_atoms=7)
    assert np.allclose(whole, blocks, rtol=0, atol=1e-13)
    assert descriptor.compute(*args, dtype=np.float32).dtype == np.float32


def test_crystallinity_scores_of_large_selections_are_not_kept(tmp_path, rng, monkeypatch):
    path = _binary_trajectory(tmp_path / "t.h5md", rng, frames=3)
    options = CrystallinityOptions(reference_lattice="rocksalt NaCl 5.64")
    with open_trajectory(path) as trajectory:
        kept = analyse_crystallinity(trajectory, options, progress=False)
        monkeypatch.setattr(crystallinity_module, "PER_ATOM_LIMIT", 3 * trajectory.natoms - 1)
        dropped = analyse_crystallinity(trajectory, options, progress=False)
        forced = analyse_crystallinity(trajectory, options.model_copy(update={"per_atom_scores": True}),
                                       progress=False)
    assert kept.score.shape == (3, 360) and dropped.score is None and forced.score.shape == (3, 360)
    assert np.array_equal(kept.fraction, dropped.fraction)
    files = dropped.write(tmp_path / "out")
    with h5py.File(files["hdf5"]) as handle:
        assert "per_atom_score" not in handle and "fraction" in handle


def test_scores_are_computed_block_by_block_like_all_at_once(rng, monkeypatch):
    atoms = bulk("NaCl", "rocksalt", 5.64, cubic=True).repeat((3, 3, 3))
    atoms.positions += rng.normal(0.0, 0.3, atoms.positions.shape)
    options = CrystallinityOptions(reference_lattice="rocksalt NaCl 5.64")
    args = (atoms.positions, np.array(atoms.cell), atoms.pbc, atoms.numbers)
    whole = CrystallinityModel(options, atoms.numbers).per_atom(*args)[0]
    monkeypatch.setattr(crystallinity_module, "ATOM_BLOCK", 17)
    blocked = CrystallinityModel(options, atoms.numbers).per_atom(*args)[0]
    assert np.allclose(whole, blocked, rtol=0, atol=1e-12)
    assert np.ptp(whole) > 0.05  # scores that differ between atoms: not a degenerate case
