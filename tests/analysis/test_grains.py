"""Crystalline grains: constructed polycrystals give their grains back, nucleation counts new grains only,
and frame blocks merge into exactly the serial run."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import h5py
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from simkit.analysis.grains import GrainFinder, GrainResult, analyse_grains
from simkit.analysis.options import GrainOptions
from simkit.analysis.steinhardt import BondOrderCriterion, bond_order
from simkit.cli.main import main
from simkit.io import H5mdWriter, open_trajectory
from tests.conftest import run_cli

A_CU = 3.615
COPPER = f"fcc Cu {A_CU}"
THERMAL_A = 0.08  # per-component displacement of Cu near 300 K
UNIT = bulk("Cu", "fcc", A_CU, cubic=True)


def _rotated_fcc(rotation: Rotation, centre: np.ndarray, half_width_A: float) -> np.ndarray:
    """FCC lattice points, rotated about ``centre``, covering a cube of half width ``half_width_A`` around it."""
    n = int(np.ceil(half_width_A * np.sqrt(3) / A_CU)) + 1
    cells = np.stack(np.meshgrid(*[np.arange(-n, n)] * 3, indexing="ij"), axis=-1).reshape(-1, 1, 3) * A_CU
    return rotation.apply((cells + UNIT.positions).reshape(-1, 3)) + centre


def _coherence(rotations: Rotation) -> np.ndarray:
    """Steinhardt q̂_6 coherence between perfect FCC crystals in these orientations (pairwise)."""
    unit = []
    for rotation in rotations:
        crystal = UNIT.repeat(3)
        unit.append(bond_order(rotation.apply(crystal.positions), rotation.apply(np.array(crystal.cell)), crystal.pbc,
                               BondOrderCriterion(cutoff_A=3.35)).normalised_qlm[0])
    unit = np.array(unit)
    return np.real(unit @ unit.conj().T)


def polycrystal(rng, rotations: Rotation | None = None, box_A: float = 40.0) -> tuple[Atoms, np.ndarray, Rotation]:
    """Three FCC grains in the Voronoi cells of three seeds (open box), each lattice rotated about its seed
    (default: by distinct random rotations).

    Returns the atoms (thermally displaced), the region of each atom and the rotations. Atoms closer than
    2 Å to an atom of another region are removed (one of each pair).
    """
    seeds = np.array([[11.0, 12.0, 12.0], [29.0, 13.0, 27.0], [15.0, 29.0, 28.0]])
    rotations = Rotation.random(3, random_state=rng) if rotations is None else rotations
    points, regions = [], []
    for k, seed in enumerate(seeds):
        lattice = _rotated_fcc(rotations[k], seed, box_A)
        inside = np.all((lattice >= 0.5) & (lattice < box_A - 0.5), axis=1)
        lattice = lattice[inside]
        nearest = np.argmin(np.linalg.norm(lattice[:, None, :] - seeds[None], axis=2), axis=1)
        points.append(lattice[nearest == k])
        regions.append(np.full(int(np.sum(nearest == k)), k))
    points, regions = np.concatenate(points), np.concatenate(regions)
    pairs = cKDTree(points).query_pairs(2.0, output_type="ndarray")
    keep = np.ones(len(points), dtype=bool)
    keep[pairs.max(axis=1)] = False
    points, regions = points[keep], regions[keep]
    points += rng.normal(0.0, THERMAL_A, points.shape)
    atoms = Atoms(f"Cu{len(points)}", positions=points, cell=np.eye(3) * box_A, pbc=False)
    return atoms, regions, rotations


def _sphere(positions: np.ndarray, cell: np.ndarray, centre, radius_A: float) -> np.ndarray:
    delta = positions - np.asarray(centre)
    delta -= np.round(delta / np.diag(cell)) * np.diag(cell)
    return np.linalg.norm(delta, axis=1) < radius_A


def write_crystallising_run(path: Path, rng, ordered_spheres: list[list[tuple]]) -> Path:
    """A periodic 8x8x8 Cu lattice (2048 atoms): atoms inside each frame's spheres ((centre, radius) pairs)
    are thermally displaced (crystal), all others by 0.7 Å per component (disordered)."""
    lattice = UNIT.repeat(8)
    cell = np.array(lattice.cell)
    with H5mdWriter(path) as writer:
        for k, spheres in enumerate(ordered_spheres):
            ordered = np.zeros(len(lattice), dtype=bool)
            for centre, radius in spheres:
                ordered |= _sphere(lattice.positions, cell, centre, radius)
            sigma = np.where(ordered, THERMAL_A, 0.7)[:, None]
            writer.append_frame(step=100 * k, time_ps=0.1 * k, cell_A=cell, symbols=lattice.get_chemical_symbols(),
                                positions_A=lattice.positions + rng.normal(0.0, 1.0, (len(lattice), 3)) * sigma)
    return path


GRAIN_A = ((7.2, 7.2, 7.2), 7.5)
GRAIN_B = ((21.7, 21.7, 21.7), 7.5)
# frame 0: grain A; frame 1: B appears; frame 2: both persist; frame 3: B has grown but is not new.
NUCLEATION_FRAMES = [[GRAIN_A], [GRAIN_A, GRAIN_B], [GRAIN_A, GRAIN_B], [GRAIN_A, (GRAIN_B[0], 8.0)]]


@pytest.fixture
def crystallising_run(tmp_path, rng) -> Path:
    return write_crystallising_run(tmp_path / "crystallising.h5md", rng, NUCLEATION_FRAMES)


def _assert_same(left: GrainResult, right: GrainResult) -> None:
    for item in fields(GrainResult):
        a, b = getattr(left, item.name), getattr(right, item.name)
        if item.name == "grain_atoms":
            assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b)), item.name
        elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=item.name)
        else:
            assert a == b, item.name


def test_polycrystal_gives_back_its_grains_and_their_sizes(tmp_path, rng):
    atoms, regions, rotations = polycrystal(rng)
    coherence = _coherence(rotations)
    assert np.all(coherence[~np.eye(3, dtype=bool)] < 0.5), coherence  # the orientations are distinct
    path = tmp_path / "polycrystal.extxyz"
    write(path, atoms, format="extxyz")
    options = GrainOptions(reference_lattice=COPPER)
    with open_trajectory(path) as trajectory:
        result = analyse_grains(trajectory, options, progress=False)
        finder = GrainFinder(options, trajectory.numbers)
        frame = trajectory.frame(0)
    assert result.grain_count.tolist() == [3]
    ids = result.per_atom_grain_id[0]
    matched = set()
    for grain in range(3):
        members = regions[ids == grain]
        region = np.bincount(members, minlength=3).argmax()
        assert np.mean(members == region) > 0.9  # one region's atoms
        assert len(members) > 0.3 * np.sum(regions == region)  # its interior (not the open faces, not boundaries)
        matched.add(region)
    assert matched == {0, 1, 2}
    # ids are ordered by each grain's lowest atom index
    firsts = [np.flatnonzero(ids == grain)[0] for grain in range(3)]
    assert firsts == sorted(firsts)
    np.testing.assert_array_equal(np.bincount(ids[ids >= 0]), result.grain_atoms[0])
    density = len(atoms) / 40.0**3
    expected = np.cbrt(6 * result.grain_atoms[0] / (np.pi * density)) / 10
    np.testing.assert_allclose(result.grain_diameters_nm(0), expected, rtol=1e-12)
    assert result.mean_diameter_nm[0] == pytest.approx(expected.mean())
    assert result.density_source == "frame" and result.nucleation_events.tolist() == [0]
    # rule 1: the crystal-like atoms are the crystallinity model's
    crystal_like, _ = finder.crystal_and_orientation(frame)
    np.testing.assert_array_equal(crystal_like, finder.model.per_atom(frame.positions_A, frame.cell_A, frame.pbc,
                                                                       frame.numbers)[1])
    assert result.crystal_like_atoms[0] == crystal_like.sum() >= result.atoms_in_grains[0]
    given = GrainOptions(reference_lattice=COPPER, number_density_per_A3=0.1)
    with open_trajectory(path) as trajectory:
        dense = analyse_grains(trajectory, given, progress=False)
    assert dense.density_source == "given"
    np.testing.assert_allclose(dense.grain_diameters_nm(0), np.cbrt(60 * result.grain_atoms[0] / np.pi) / 10)


def test_orientation_not_geometry_separates_grains(tmp_path, rng):
    touching = [GRAIN_A, ((16.0, 11.0, 10.0), 7.5)]  # overlapping spheres of one lattice: one grain
    path = write_crystallising_run(tmp_path / "touching.h5md", rng, [touching, [GRAIN_A, GRAIN_B]])
    with open_trajectory(path) as trajectory:
        result = analyse_grains(trajectory, GrainOptions(reference_lattice=COPPER), progress=False)
    # same orientation: touching is one grain; kept apart by disordered atoms, two
    assert result.grain_count.tolist() == [1, 2]
    # One orientation, lattices shifted against each other: the boundaries' atoms are not crystal-like (a band
    # wider than link_cutoff_A), so the three regions stay three grains; a link over the band joins them.
    atoms, regions, _ = polycrystal(rng, Rotation.from_rotvec([[0.3, 0.2, 0.1]] * 3))
    write(tmp_path / "shifted.extxyz", atoms, format="extxyz")
    with open_trajectory(tmp_path / "shifted.extxyz") as trajectory:
        apart = analyse_grains(trajectory, GrainOptions(reference_lattice=COPPER), progress=False)
        joined = analyse_grains(trajectory, GrainOptions(reference_lattice=COPPER, link_cutoff_A=10.0), progress=False)
    assert apart.grain_count.tolist() == [3] and joined.grain_count.tolist() == [1]
    ids = apart.per_atom_grain_id[0]
    assert all(np.bincount(regions[ids == grain]).max() == np.sum(ids == grain) for grain in range(3))
    assert joined.atoms_in_grains[0] == apart.atoms_in_grains[0]


def test_nucleation_counts_new_grains_only(crystallising_run):
    with open_trajectory(crystallising_run) as trajectory:
        result = analyse_grains(trajectory, GrainOptions(reference_lattice=COPPER), progress=False)
    assert result.grain_count.tolist() == [1, 2, 2, 2]
    # frame 0 has no predecessor; B is new in frame 1; in frame 3 it has grown, most of it was a grain before
    assert result.nucleation_events.tolist() == [0, 1, 0, 0]
    assert result.largest_grain_atoms[3] > result.largest_grain_atoms[2]
    assert result.frame_index.tolist() == [0, 1, 2, 3] and result.steps.tolist() == [0, 100, 200, 300]
    with open_trajectory(crystallising_run) as trajectory:
        strict = analyse_grains(trajectory, GrainOptions(reference_lattice=COPPER, critical_nucleus_atoms=10_000),
                                progress=False)
    assert strict.nucleation_events.tolist() == [0, 0, 0, 0]


def test_soap_crystal_like_atoms_with_bond_order_orientations(crystallising_run):
    options = GrainOptions(reference_lattice=COPPER, method="soap", min_grain_atoms=10)
    with open_trajectory(crystallising_run) as trajectory:
        result = analyse_grains(trajectory, options, progress=False, frames=[1])  # frame 0 read as the seed
    assert result.grain_count.tolist() == [2] and result.nucleation_events.tolist() == [1]
    assert result.parameters["orientation_criterion"]["cutoff_A"] == pytest.approx(3.35025)


@pytest.mark.parametrize("blocks", [[1], [2], [3], [1, 3]])
def test_frame_blocks_merge_into_the_serial_run(crystallising_run, blocks):
    options = GrainOptions(reference_lattice=COPPER)
    with open_trajectory(crystallising_run) as trajectory:
        serial = analyse_grains(trajectory, options, progress=False)
        indices = options.indices(trajectory)
        parts = [analyse_grains(trajectory, options, progress=False, frames=block)
                 for block in np.split(indices, blocks)]
    _assert_same(GrainResult.merge(parts), serial)
    assert parts[-1].nucleation_events[0] == serial.nucleation_events[blocks[-1]]
    with open_trajectory(crystallising_run) as trajectory, pytest.raises(ValueError, match="contiguous block"):
        analyse_grains(trajectory, options, progress=False, frames=[0, 2])


def test_write_files_and_per_atom_ids_on_request(crystallising_run, tmp_path):
    with open_trajectory(crystallising_run) as trajectory:
        result = analyse_grains(trajectory, GrainOptions(reference_lattice=COPPER), progress=False)
        lean = analyse_grains(trajectory, GrainOptions(reference_lattice=COPPER, per_atom_ids=False), progress=False)
    assert result.per_atom_grain_id.shape == (4, 2048) and lean.per_atom_grain_id is None
    outputs = result.write(tmp_path / "out")
    assert {kind: path.name for kind, path in outputs.items()} == {
        "hdf5": "grains.h5", "csv": "grains.csv", "png": "grains.png"}
    header = outputs["csv"].read_text().splitlines()[0].split(",")
    assert {"time_ps", "mean_diameter_nm", "median_diameter_nm", "number_density_per_A3"} <= set(header)
    with h5py.File(outputs["hdf5"]) as f:
        assert f["mean_diameter_nm"].attrs["units"] == "nm" and f["time"].attrs["units"] == "ps"
        offsets = f["grain_offsets"][()]
        np.testing.assert_array_equal(f["grain_atoms"][offsets[3]:offsets[4]], result.grain_atoms[3])
        assert f["diameter_histogram"][()].sum(axis=1).tolist() == result.grain_count.tolist()
        np.testing.assert_array_equal(f["per_atom_grain_id"][()], result.per_atom_grain_id)
    assert "per_atom_grain_id" not in h5py.File(lean.write(tmp_path / "lean")["hdf5"])


def test_cli_runs_grains_and_refuses_a_missing_reference(crystallising_run):
    assert main(["analyse", str(crystallising_run), "grains", "--no-progress", "--reference-lattice", COPPER,
                 "-o", "grains_out"]) == 0
    summary = json.loads(Path("grains_out/run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["command"] == "analyse grains"
    headline = summary["results"]["summary"]
    assert headline["frames"] == 4 and headline["final_grains"] == 2 and headline["nucleation_events"] == 1
    assert 1.0 < headline["final_mean_diameter_nm"] < 2.5
    result = run_cli("analyse", str(crystallising_run), "grains")
    assert result.returncode == 2, result.stderr
    assert "reference_lattice" in result.stderr and len(result.stderr.strip().splitlines()) == 1
