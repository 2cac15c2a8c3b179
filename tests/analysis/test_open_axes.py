"""Cells with open (non-periodic) axes: an absent or in-plane open vector is replaced, dependent periodic ones refused.

ASE writes a slab built without vacuum (``fcc100(..., vacuum=None)``) with a zero c vector and pbc "T T F";
such a file used to be refused by every neighbour analysis ("the cell is singular", no file named).
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from ase import Atoms
from ase.build import fcc100
from ase.io import write

from simkit.analysis.coordination import coordination_numbers
from simkit.analysis.neighbors import search_cell
from simkit.cli.main import main
from simkit.errors import InputDataError

LAYERS, SIDE = 5, 4
# fcc(100) slab: the two surface layers have 8 nearest neighbours, the inner ones 12
EXPECTED_MEAN_CN = ((LAYERS - 2) * 12 + 2 * 8) / LAYERS


def slab(c_vector) -> Atoms:
    atoms = fcc100("Cu", size=(SIDE, SIDE, LAYERS), vacuum=None)
    atoms.set_cell(np.vstack([atoms.cell[0], atoms.cell[1], c_vector]), scale_atoms=False)
    atoms.pbc = (True, True, False)
    atoms.info.clear()  # ase's adsorbate_info does not go into extended XYZ
    return atoms


OPEN_C = {"vacuum": [0.0, 0.0, 30.0], "absent": [0.0, 0.0, 0.0], "in_plane": [1.0, 2.0, 0.0]}


@pytest.mark.parametrize("c_kind", sorted(OPEN_C))
def test_an_open_axis_needs_no_vector(c_kind):
    atoms = slab(OPEN_C[c_kind])
    cn = coordination_numbers(atoms.positions, np.array(atoms.cell), atoms.pbc, atoms.numbers, (29,),
                              np.array([[3.0]]))
    z = atoms.positions[:, 2]
    surface = np.isclose(z, z.min()) | np.isclose(z, z.max())
    assert np.all(cn[surface] == 8) and np.all(cn[~surface] == 12), np.unique(cn)


@pytest.mark.parametrize("c_kind", ["absent", "in_plane"])
def test_simkit_analyse_reads_a_slab_without_a_c_vector(tmp_path, c_kind):
    path = tmp_path / "slab.extxyz"
    write(path, slab(OPEN_C[c_kind]), format="extxyz")
    assert main(["analyse", str(path), "coordination", "--no-progress", "-o", str(tmp_path / "out")]) == 0
    with (tmp_path / "out" / "coordination.csv").open() as handle:
        row = list(csv.DictReader(handle))[0]
    assert float(row["cn_Cu-Cu"]) == pytest.approx(EXPECTED_MEAN_CN, abs=1e-12)


def test_search_cell_keeps_the_periodic_vectors():
    cell = np.array([[3.0, 0.0, 0.0], [1.0, 4.0, 0.0], [2.0, 1.0, 0.0]])  # c in the ab plane, c open
    completed = search_cell(cell, (True, True, False))
    np.testing.assert_array_equal(completed[:2], cell[:2])
    np.testing.assert_allclose(completed[2], [0.0, 0.0, 1.0])


@pytest.mark.parametrize("pbc, cell, words", [
    ((True, True, False), [[3.0, 0.0, 0.0], [6.0, 0.0, 0.0], [0.0, 0.0, 0.0]], "linearly dependent"),
    ((True, True, True), [[3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [3.0, 3.0, 0.0]], "linearly dependent"),
    ((True, False, False), [[0.0, 0.0, 0.0], [0.0, 3.0, 0.0], [0.0, 0.0, 3.0]], "cell vector a is zero"),
])
def test_dependent_periodic_vectors_are_refused(pbc, cell, words):
    with pytest.raises(InputDataError, match=words):
        search_cell(np.array(cell), pbc)


def test_a_file_with_dependent_periodic_vectors_is_refused_naming_file_and_frame(tmp_path, capsys):
    path = tmp_path / "flat.extxyz"
    atoms = slab(OPEN_C["vacuum"])
    write(path, [atoms, atoms], format="extxyz")
    text = path.read_text().split("\n")
    # frame 1's b vector parallel to a: no 2D lattice, although every vector is non-zero
    second = [k for k, line in enumerate(text) if line.startswith("Lattice=")][1]
    a = atoms.cell[0]
    text[second] = text[second].replace(" ".join(f"{v}" for v in atoms.cell[1]), " ".join(f"{2 * v}" for v in a))
    path.write_text("\n".join(text))
    assert main(["analyse", str(path), "coordination", "--no-progress", "-o", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "flat.extxyz: frame 1: periodic cell is singular" in error, error
