"""Built-in crystals and random sublattice vacancies."""

from __future__ import annotations

import numpy as np
import pytest

from simkit.analysis.neighbors import neighbour_list
from simkit.config.loader import validate_config
from simkit.errors import ConfigError
from simkit.structures.device import DeviceSpec, build_device
from simkit.structures.spec import StructureSpec, load_structure


def _spec(data: dict) -> StructureSpec:
    return validate_config(StructureSpec, data, source="test.yaml", base_dir=".")


def test_rocksalt_sb2te3_has_the_formula_and_octahedral_sites():
    atoms = load_structure(_spec({"builtin": {"name": "Sb2Te3-rocksalt", "a_A": 6.2}, "repeat": [3, 3, 3]}),
                           np.random.default_rng(1))
    symbols = np.array(atoms.get_chemical_symbols())
    assert (symbols == "Te").sum() == 108 and (symbols == "Sb").sum() == 72  # 2 : 3, a third of cations gone
    pairs = neighbour_list(atoms.positions, atoms.cell[:], atoms.pbc, 3.2)
    counts = np.bincount(pairs.i, minlength=len(atoms))
    assert np.all(counts[symbols == "Sb"] == 6)  # every Sb keeps its Te octahedron
    te = counts[symbols == "Te"]
    assert te.min() >= 0 and te.max() <= 6 and abs(te.mean() - 4.0) < 1e-9  # 6 sites x 2/3 occupied


def test_vacancies_are_random_per_seed_and_reproducible():
    spec = _spec({"builtin": {"name": "Sb2Te3-rocksalt"}, "repeat": [2, 2, 3]})
    a = load_structure(spec, np.random.default_rng(5))
    b = load_structure(spec, np.random.default_rng(5))
    c = load_structure(spec, np.random.default_rng(6))
    assert np.array_equal(a.positions, b.positions)
    assert not np.array_equal(a.positions, c.positions)
    with pytest.raises(ValueError, match="random generator"):
        load_structure(spec)


def test_trigonal_sb2te3_matches_the_wyckoff_positions():
    atoms = load_structure(_spec({"builtin": {"name": "Sb2Te3-R-3m"}}))
    assert atoms.get_chemical_formula() == "Sb6Te9"
    assert np.allclose(atoms.cell.cellpar(), [4.264, 4.264, 30.458, 90, 90, 120])
    distances = np.round(neighbour_list(atoms.positions, atoms.cell[:], atoms.pbc, 3.3).distances, 2)
    # Sb-Te bonds of the quintuple layer: 2.98 Å (Sb-Te2) and 3.17 Å (Sb-Te1)
    assert sorted(set(distances.tolist())) == [2.98, 3.17]


def test_device_places_vacancies_after_the_cut_not_per_unit_cell():
    spec = validate_config(DeviceSpec, {"crystal": {"builtin": {"name": "Sb2Te3-rocksalt", "a_A": 6.215}},
                                        "size_nm": [2.5, 2.5, 5.0], "frozen_slab_nm": 0.6, "heater_nm": 1.2},
                           source="test.yaml", base_dir=".")
    device = build_device(spec, np.random.default_rng(3))
    symbols = np.array(device.atoms.get_chemical_symbols())
    assert (symbols == "Sb").sum() == round(2 / 3 * (symbols == "Te").sum())
    # Were vacancies placed in the unit cell, every one of the 4 x 4 x 8 cells would hold the same pattern.
    cells = np.floor(device.atoms.get_scaled_positions() * [4, 4, 8]).astype(int)
    per_cell = np.bincount(np.ravel_multi_index(cells[symbols == "Sb"].T, (4, 4, 8)), minlength=128)
    assert per_cell.std() > 0


@pytest.mark.parametrize("data, message", [
    ({"builtin": {"name": "Sb2Te3-R-3m", "a_A": 5.0}}, "rocksalt only"),
    ({"builtin": {"name": "GeTe"}}, "builtin.name"),
    ({"bulk": {"element": "Cu", "crystal": "fcc", "a_A": 3.6}, "vacancies": {"Cu": 1.0}}, "vacancies"),
    ({"bulk": {"element": "Cu", "crystal": "fcc", "a_A": 3.6}, "builtin": {"name": "Sb2Te3-R-3m"}}, "exactly one"),
])
def test_bad_structures_are_refused_naming_the_key(data, message):
    with pytest.raises((ConfigError, ValueError), match=message):
        load_structure(_spec(data), np.random.default_rng(0))
