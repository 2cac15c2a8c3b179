"""Wigner-Seitz defects (`simkit analyse FILE defects`): exact counts on constructed crystals, clusters, shape, CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write

from simkit.analysis.defects import (
    cloud_shape,
    cluster_labels,
    default_cluster_cutoff_A,
    defect_summary,
    defects_of_frames,
    wigner_seitz,
)
from simkit.analysis.frames import frames_from_atoms
from simkit.cli.main import main
from simkit.io import H5mdWriter
from tests.conftest import run_cli

A_FE = 2.8665
OCTAHEDRAL = np.array([0.5, 0.5, 0.0])  # bcc octahedral site, in units of a


def bcc_fe() -> Atoms:
    return bulk("Fe", "bcc", a=A_FE, cubic=True).repeat(4)  # 128 sites, 11.466 Å cube


def b2_fecr() -> Atoms:
    cell = bulk("Fe", "bcc", a=A_FE, cubic=True)
    cell.set_chemical_symbols(["Fe", "Cr"])  # corner Fe, body centre Cr
    return cell.repeat(4)


def site_at(atoms: Atoms, position) -> int:
    """The site at ``position`` (Å), up to a lattice vector of the supercell."""
    offsets = np.linalg.solve(np.array(atoms.cell).T, (atoms.positions - position).T).T
    offsets -= np.round(offsets)
    return int(np.argmin(np.linalg.norm(offsets @ np.array(atoms.cell), axis=1)))


def counts(reference: Atoms, current: Atoms) -> dict:
    return wigner_seitz(reference, current).counts(reference.numbers, current.numbers)


def brief(summary: dict) -> tuple[int, int, int, int]:
    return summary["vacancies"], summary["interstitials"], summary["antisites"], summary["frenkel_pairs"]


# -- point defects ------------------------------------------------------------------------------

def test_perfect_crystal_has_no_defects():
    reference = bcc_fe()
    analysis = wigner_seitz(reference, reference.copy())
    assert (analysis.occupancy == 1).all() and (analysis.site_of_atom == np.arange(128)).all()
    assert brief(counts(reference, reference)) == (0, 0, 0, 0)


def test_a_deleted_atom_is_one_vacancy():
    reference, current = bcc_fe(), bcc_fe()
    del current[37]
    analysis = wigner_seitz(reference, current)
    assert analysis.vacancy_sites.tolist() == [37] and len(analysis.interstitial_atoms) == 0
    assert brief(analysis.counts(reference.numbers, current.numbers)) == (1, 0, 0, 0)


@pytest.mark.parametrize("kind", ["octahedral", "dumbbell_110"])
def test_an_added_atom_is_one_interstitial(kind):
    reference, current = bcc_fe(), bcc_fe()
    centre = site_at(reference, A_FE * np.array([2.0, 2.0, 2.0]))
    if kind == "octahedral":
        current.append("Fe")
        current.positions[-1] = A_FE * (np.array([2.0, 2.0, 2.0]) + OCTAHEDRAL)
        expected_atoms = [128]
    else:  # two atoms share the site, 2 Å apart along [110]
        along = np.array([1.0, 1.0, 0.0]) / np.sqrt(2.0)
        current.positions[centre] -= along
        current.append("Fe")
        current.positions[-1] = reference.positions[centre] + 1.05 * along
        expected_atoms = [128]  # the atom farther from the site
    analysis = wigner_seitz(reference, current)
    assert brief(analysis.counts(reference.numbers, current.numbers)) == (0, 1, 0, 0)
    assert analysis.interstitial_atoms.tolist() == expected_atoms
    if kind == "dumbbell_110":
        assert analysis.occupancy[centre] == 2


def test_an_atom_moved_far_away_is_a_frenkel_pair():
    reference, current = bcc_fe(), bcc_fe()
    current.positions[0] = A_FE * (np.array([2.0, 1.0, 2.0]) + OCTAHEDRAL) + 0.05  # off the tie between two sites
    analysis = wigner_seitz(reference, current)
    assert analysis.vacancy_sites.tolist() == [0] and analysis.interstitial_atoms.tolist() == [0]
    assert brief(analysis.counts(reference.numbers, current.numbers)) == (1, 1, 0, 1)


def test_the_interstitial_is_the_atom_farther_from_the_site():
    reference, current = bcc_fe(), bcc_fe()
    site = 40
    current.append("Fe")
    current.positions[-1] = reference.positions[site] + [0.3, 0.2, 0.0]
    current.positions[site] += [0.0, 0.0, 0.8]  # the original atom is now the farther one
    assert wigner_seitz(reference, current).interstitial_atoms.tolist() == [site]


def test_antisites_carry_atom_on_site_labels():
    reference = b2_fecr()
    fe_site, cr_site = 0, 1
    assert reference[fe_site].symbol == "Fe" and reference[cr_site].symbol == "Cr"
    current = reference.copy()
    current[fe_site].symbol = "Cr"
    result = counts(reference, current)
    assert brief(result) == (0, 0, 1, 0)
    assert result["antisites_by_species"] == {"Cr_on_Fe": 1, "Fe_on_Cr": 0}
    swapped = reference.copy()
    swapped.positions[[fe_site, cr_site]] = swapped.positions[[cr_site, fe_site]]  # an Fe-Cr exchange
    analysis = wigner_seitz(reference, swapped)
    assert analysis.antisite_sites.tolist() == [fe_site, cr_site]
    result = analysis.counts(reference.numbers, swapped.numbers)
    assert brief(result) == (0, 0, 2, 0) and result["antisites_by_species"] == {"Cr_on_Fe": 1, "Fe_on_Cr": 1}


def test_counts_by_species_in_rocksalt():
    reference = bulk("NaCl", "rocksalt", a=5.64, cubic=True).repeat(2)
    current = reference.copy()
    chlorine = int(np.flatnonzero(current.numbers == 17)[0])
    current.positions[chlorine] = reference.positions[chlorine] + np.array([0.25, 0.25, 0.25]) * 5.64 + 0.05
    result = counts(reference, current)  # the Cl went to a tetrahedral hole: a Cl Frenkel pair
    assert brief(result) == (1, 1, 0, 1)
    assert result["vacancies_by_species"] == {"Na": 0, "Cl": 1}
    assert result["interstitials_by_species"] == {"Na": 0, "Cl": 1}
    symbols = wigner_seitz(reference, current).counts(reference.get_chemical_symbols(), current.get_chemical_symbols())
    assert symbols == result  # symbols or atomic numbers


# -- invariance ---------------------------------------------------------------------------------

def test_thermal_noise_is_not_a_defect(rng):
    reference, current = bcc_fe(), bcc_fe()
    current.positions += rng.normal(0.0, 0.1, current.positions.shape)
    assert brief(counts(reference, current)) == (0, 0, 0, 0)


def _damaged_fe() -> tuple[Atoms, Atoms]:
    reference, current = bcc_fe(), bcc_fe()
    del current[100]
    current.positions[3] = A_FE * (np.array([1.0, 3.0, 0.0]) + OCTAHEDRAL) + 0.05
    current.append("Fe")
    current.positions[-1] = A_FE * (np.array([3.0, 0.0, 3.0]) + OCTAHEDRAL) + 0.05
    return reference, current


def test_wrapping_either_input_changes_nothing():
    reference, current = _damaged_fe()
    base = wigner_seitz(reference, current)
    assert brief(base.counts(reference.numbers, current.numbers)) == (2, 2, 0, 2)
    cell = np.array(current.cell)
    for shift in (cell[0], -2 * cell[1] + cell[2], cell.sum(axis=0) * 3):
        shifted = current.copy()
        shifted.positions += shift  # outside the cell, unwrapped
        for candidate in (shifted, _wrapped(shifted)):
            again = wigner_seitz(reference, candidate)
            assert (again.site_of_atom == base.site_of_atom).all()
            assert (again.vacancy_sites == base.vacancy_sites).all()
            assert (again.interstitial_atoms == base.interstitial_atoms).all()
        moved_reference = reference.copy()
        moved_reference.positions -= shift
        assert (wigner_seitz(moved_reference, current).site_of_atom == base.site_of_atom).all()
    # A translation by one crystal lattice vector (not the supercell's) moves the defects, not their number.
    across = current.copy()
    across.positions += A_FE * np.array([0.5, 0.5, 0.5])
    assert counts(reference, _wrapped(across)) == counts(reference, across) == base.counts(reference.numbers,
                                                                                          current.numbers)


def _wrapped(atoms: Atoms) -> Atoms:
    wrapped = atoms.copy()
    wrapped.wrap()
    return wrapped


def test_triclinic_cell():
    reference = bulk("Fe", "bcc", a=A_FE).repeat(4)  # primitive bcc: 109.47° between cell vectors
    assert not np.allclose(reference.cell.angles(), 90.0)
    current = reference.copy()
    del current[10]
    current.positions[20] = reference.positions[45] + A_FE * OCTAHEDRAL + 0.05
    base = wigner_seitz(reference, current)
    assert brief(base.counts(reference.numbers, current.numbers)) == (2, 1, 0, 1)
    shifted = current.copy()
    shifted.positions += 2 * np.array(current.cell[0]) - np.array(current.cell[2])
    again = wigner_seitz(reference, _wrapped(shifted))
    assert (again.site_of_atom == base.site_of_atom).all()
    assert default_cluster_cutoff_A(reference) == pytest.approx(0.5 * (A_FE + A_FE * np.sqrt(2.0)), abs=1e-9)


def test_strained_cell_maps_sites_by_fractional_coordinates():
    reference = bcc_fe()
    current = reference.copy()
    deformation = np.array([[1.15, 0.10, 0.0], [0.0, 0.95, 0.0], [0.0, 0.05, 1.10]])
    current.set_cell(np.array(reference.cell) @ deformation, scale_atoms=True)
    assert brief(counts(reference, current)) == (0, 0, 0, 0)
    # Without the mapping the far corner would be 1.9 Å off its site: wrong sites, false defects.
    unmapped = current.copy()
    unmapped.set_cell(reference.cell, scale_atoms=False)
    unmapped.positions = current.positions
    assert counts(reference, unmapped)["vacancies"] > 0
    del current[7]
    assert wigner_seitz(reference, current).vacancy_sites.tolist() == [7]


def test_non_periodic_cluster_and_slab():
    cluster = bcc_fe()
    cluster.pbc = False
    cluster.cell = np.zeros((3, 3))  # a free cluster: no cell at all
    current = cluster.copy()
    del current[50]
    current.append("Fe")
    current.positions[-1] = cluster.positions.max(axis=0) + 5.0  # an atom that flew off into vacuum
    analysis = wigner_seitz(cluster, current)
    assert analysis.vacancy_sites.tolist() == [50]
    assert brief(analysis.counts(cluster.numbers, current.numbers)) == (1, 1, 0, 1)
    slab = bcc_fe()
    slab.pbc = (True, True, False)
    slab.cell[2] = 0.0
    current = slab.copy()
    current.positions[:, :2] += np.array(slab.cell[0][:2])  # a periodic shift, unwrapped
    current.positions[0, 2] += 20.0  # sputtered far above the slab
    assert brief(counts(slab, current)) == (1, 1, 0, 1)


# -- clusters and shape -------------------------------------------------------------------------

def test_default_cutoff_is_between_second_and_third_shells(rng):
    assert default_cluster_cutoff_A(bcc_fe()) == pytest.approx(0.5 * A_FE * (1 + np.sqrt(2.0)), abs=1e-9)
    fcc = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3)
    assert default_cluster_cutoff_A(fcc) == pytest.approx(0.5 * 3.615 * (1 + np.sqrt(1.5)), abs=1e-9)
    thermal = bcc_fe().repeat(2)
    thermal.positions += rng.normal(0.0, 0.04, thermal.positions.shape)
    assert default_cluster_cutoff_A(thermal) == pytest.approx(0.5 * A_FE * (1 + np.sqrt(2.0)), abs=0.03)


def test_neighbouring_vacancies_are_one_cluster_and_distant_ones_are_not():
    reference = bcc_fe()
    centre = site_at(reference, A_FE * np.array([2.0, 2.0, 2.0]))
    nearest = np.argsort(reference.get_distances(centre, range(len(reference)), mic=True))[1:4]  # 1st neighbours
    current = reference.copy()
    del current[[centre, *nearest]]
    summary = defect_summary(reference, current)
    assert summary["vacancies"] == 4 and summary["vacancy_clusters"] == {"number": 1, "sizes": [4], "largest": 4}
    corners = [site_at(reference, A_FE * np.array(p)) for p in ([0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0, 2],
                                                                 [2, 2, 2])]
    current = reference.copy()
    del current[corners]
    summary = defect_summary(reference, current)
    assert summary["vacancy_clusters"] == {"number": 5, "sizes": [1] * 5, "largest": 1}
    assert summary["interstitial_clusters"] == {"number": 0, "sizes": [], "largest": 0}


def test_a_cluster_across_the_boundary_is_one_cluster():
    reference = bcc_fe()
    corner = site_at(reference, [0.0, 0.0, 0.0])
    across = site_at(reference, A_FE * np.array([3.5, 3.5, 3.5]))  # the corner's first neighbour, through the faces
    current = reference.copy()
    del current[[corner, across]]
    summary = defect_summary(reference, current)
    assert summary["vacancy_clusters"]["sizes"] == [2]
    # The cloud straddles the corner: centre at the corner's image, extent of one bond, not of the box.
    shape = summary["shape"]
    assert shape["semi_axes_A"][0] == pytest.approx(np.sqrt(5.0) * A_FE * np.sqrt(3.0) / 4.0)
    assert shape["mean_vacancy_distance_A"] == pytest.approx(A_FE * np.sqrt(3.0) / 4.0)
    assert shape["mean_interstitial_distance_A"] is None


def test_cluster_labels_are_contiguous_and_the_cutoff_inclusive():
    cell = np.diag([16.0, 16.0, 16.0])  # fractions of these points are exact binary numbers
    points = np.array([[8.0, 8, 8], [1.0, 1, 1], [11.0, 8, 8], [15.5, 1, 1], [4.0, 12, 12]])
    labels = cluster_labels(points, cell, (True, True, True), cutoff_A=3.0)
    assert labels.tolist() == [0, 1, 0, 1, 2]  # 8->11 exactly 3 Å; 1 and 15.5 are 1.5 Å apart through x
    assert cluster_labels(points, cell, (False, True, True), 3.0).tolist() == [0, 1, 0, 2, 3]
    assert cluster_labels(np.zeros((0, 3)), cell, (True,) * 3, 3.0).tolist() == []


def test_cloud_shape_of_a_known_ellipsoid():
    cell = np.array([[30.0, 0, 0], [5.0, 28.0, 0], [0, 3.0, 26.0]])
    axes = {"x": 6.0, "y": 3.0, "z": 1.5}
    offsets = np.array([[6.0, 0, 0], [-6.0, 0, 0], [0, 3.0, 0], [0, -3.0, 0], [0, 0, 1.5], [0, 0, -1.5]])
    expected = [np.sqrt(5.0 * 2 * s**2 / 6) for s in axes.values()]
    for centre in (np.array([15.0, 14.0, 13.0]), np.zeros(3)):  # the second straddles every face
        positions = offsets + centre
        shape = cloud_shape(positions[:2], positions[2:], cell, (True, True, True))
        assert shape["semi_axes_A"] == pytest.approx(expected, abs=1e-9)
        assert np.abs(np.abs(shape["principal_axes"][0]) - [1, 0, 0]).max() < 1e-9
        image = np.linalg.solve(cell.T, np.array(shape["centre_A"]) - centre) % 1.0
        assert np.minimum(image, 1 - image).max() < 1e-9  # the centre, up to a lattice vector
        assert shape["mean_vacancy_distance_A"] == pytest.approx(6.0)
        assert shape["mean_interstitial_distance_A"] == pytest.approx((2 * 3.0 + 2 * 1.5) / 4)
    line = np.outer(np.linspace(-5.0, 5.0, 11), [1.0, 1.0, 0.0] / np.sqrt(2.0)) + 2.0
    shape = cloud_shape(line, np.zeros((0, 3)), cell, (True, True, True))
    assert shape["semi_axes_A"][0] > 5.0 and shape["semi_axes_A"][1] == pytest.approx(0.0, abs=1e-6)
    assert cloud_shape(np.zeros((0, 3)), np.zeros((0, 3)), cell, (True,) * 3)["semi_axes_A"] is None


def test_snapshots_in_memory(tmp_path):
    reference, damaged = _damaged_fe()
    result = defects_of_frames(frames_from_atoms([reference, damaged]), reference, reference_label="lattice")
    assert result.columns["frenkel_pairs"].tolist() == [0, 2]
    outputs = result.write(tmp_path / "out")
    summary = json.loads(outputs["json"].read_text())
    assert summary["last_frame"]["time_ps"] is None  # snapshots carry no time
    assert summary["last_frame"]["interstitial_clusters"]["number"] == 2


# -- the command --------------------------------------------------------------------------------

def _write_damage_run(path: Path, rng) -> Path:
    """B2 FeCr: frame 0 perfect, 1 a Frenkel pair, 2 also an Fe-Cr exchange; a little thermal noise."""
    reference = b2_fecr()
    frames = [reference.positions.copy() for _ in range(3)]
    for positions in frames[1:]:
        positions[0] = A_FE * (np.array([2.0, 1.0, 2.0]) + OCTAHEDRAL) + 0.05
    frames[2][[2, 3]] = frames[2][[3, 2]]
    with H5mdWriter(path) as writer:
        for k, positions in enumerate(frames):
            noise = rng.normal(0.0, 0.03, positions.shape) if k else 0.0
            writer.append_frame(step=10 * k, time_ps=0.5 * k, positions_A=positions + noise,
                                cell_A=np.array(reference.cell), symbols=reference.get_chemical_symbols())
    return path


def _table(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_cli_writes_per_frame_counts_and_a_summary(tmp_path, rng):
    trajectory = _write_damage_run(tmp_path / "damage.h5md", rng)
    assert main(["analyse", str(trajectory), "defects", "--no-progress", "-o", "out"]) == 0
    rows = _table(Path("out/defects.csv"))
    assert [(r["vacancies"], r["interstitials"], r["antisites"], r["frenkel_pairs"]) for r in rows] == [
        ("0", "0", "0", "0"), ("1", "1", "0", "1"), ("1", "1", "2", "1")]
    assert [r["time_ps"] for r in rows] == ["0.0", "0.5", "1.0"]
    assert rows[2]["antisites_Fe_on_Cr"] == rows[2]["antisites_Cr_on_Fe"] == "1" and rows[2]["vacancies_Fe"] == "1"
    assert rows[0]["semi_axis_1_A"] == "nan" and float(rows[1]["semi_axis_1_A"]) > 0
    summary = json.loads(Path("out/run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["config"]["reference"] == "first"
    result = summary["results"]["summary"]
    assert result == json.loads(Path("out/defects.json").read_text())
    assert result["reference"] == "damage.h5md frame 0"
    assert result["cluster_cutoff_A"] == pytest.approx(0.5 * A_FE * (1 + np.sqrt(2.0)), abs=1e-4)  # float32 file
    assert "2nd and 3rd neighbour shells" in result["cluster_cutoff_rule"]
    last = result["last_frame"]
    assert (last["step"], last["vacancies"], last["antisites_by_species"]) == (20, 1, {"Cr_on_Fe": 1, "Fe_on_Cr": 1})
    for kind in ("hdf5", "csv", "png", "json"):
        assert Path(summary["outputs"][kind]).is_file()
    import h5py

    with h5py.File("out/defects.h5") as f:
        assert f["last_frame/vacancy_sites"][()].tolist() == [0]
        assert f["per_frame/semi_axis_1_A"].attrs["units"] == "Angstrom"

    # The same perfect lattice from a file, a chosen cutoff and a frame window.
    write(tmp_path / "lattice.xyz", b2_fecr(), format="extxyz")
    assert main(["analyse", str(trajectory), "defects", "--no-progress", "-o", "from_file", "--reference",
                 str(tmp_path / "lattice.xyz"), "--cutoff-A", "5", "--start", "1"]) == 0
    again = _table(Path("from_file/defects.csv"))
    assert [r["vacancies"] for r in again] == ["1", "1"] and again[1]["antisites"] == "2"
    result = json.loads(Path("from_file/defects.json").read_text())
    assert (result["cluster_cutoff_A"], result["cluster_cutoff_rule"]) == (5.0, "given")


@pytest.mark.parametrize("flags, words", [
    (["--reference", "nowhere.xyz"], ["key 'reference'", "nowhere.xyz", "file not found"]),
    (["--reference", "garbage.xyz"], ["garbage.xyz", "cannot read the reference structure"]),
    (["--reference", "nickel.xyz"], ["nickel.xyz", "reference species Ni differ from the trajectory's Cr, Fe"]),
    (["--reference", "small.xyz"], ["small.xyz", "16 sites, but frame 0 has 128 atoms", "same supercell"]),
    (["--reference", "nocell.xyz"], ["nocell.xyz", "frame 0", "cannot be mapped", "zero along a periodic"]),
    (["--cutoff-A", "-1"], ["key 'cutoff_A'", "greater than 0"]),
], ids=["missing", "garbage", "species", "other-supercell", "no-cell", "negative-cutoff"])
def test_bad_input_is_one_line(tmp_path, rng, capsys, flags, words):
    trajectory = _write_damage_run(tmp_path / "damage.h5md", rng)
    Path("garbage.xyz").write_text("this is\nnot a structure\n")
    write("nickel.xyz", bulk("Ni", "fcc", 3.52, cubic=True), format="extxyz")
    write("small.xyz", b2_fecr()[:16], format="extxyz")
    write("nocell.xyz", Atoms(b2_fecr().get_chemical_symbols(), positions=b2_fecr().positions), format="xyz")
    code = main(["analyse", str(trajectory), "defects", "--no-progress", "-o", "out", *flags])
    error = capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1, error
    assert error.startswith("simkit analyse: error:") and all(word in error for word in words), error


def test_a_reference_without_shells_asks_for_a_cutoff(tmp_path, rng, capsys):
    trajectory = _write_damage_run(tmp_path / "damage.h5md", rng)
    write("dimer.xyz", Atoms("FeCr", positions=[[0, 0, 0], [0, 0, 2.5]]), format="extxyz")
    assert main(["analyse", str(trajectory), "defects", "--no-progress", "--reference", "dimer.xyz"]) == 2
    error = capsys.readouterr().err
    assert "dimer.xyz" in error and "set cutoff_A" in error


@pytest.mark.mpi
def test_two_ranks_write_what_one_writes(tmp_path, rng):
    trajectory = _write_damage_run(tmp_path / "damage.h5md", rng)
    assert main(["analyse", str(trajectory), "defects", "--no-progress", "-o", "serial"]) == 0
    result = run_cli("analyse", str(trajectory), "defects", "--no-progress", "-o", "parallel", np_ranks=2)
    assert result.returncode == 0, result.stderr
    assert Path("parallel/defects.csv").read_text() == Path("serial/defects.csv").read_text()
    assert Path("parallel/defects.json").read_text() == Path("serial/defects.json").read_text()
