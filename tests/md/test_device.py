"""Device builder: orthogonal supercells, size, regions on gaps between atomic planes."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from simkit.config import validate_config
from simkit.errors import ConfigError, InputDataError
from simkit.structures.device import DeviceSpec, build_device, orthogonal_cell
from simkit.structures.geometry import min_pair_distance


def _spec(tmp_path, **changes):
    data = {
        "crystal": {"bulk": {"element": "Cu", "crystal": "fcc", "a_A": 3.615, "cubic": True}},
        "size_nm": [2.2, 2.2, 5.0], "frozen_slab_nm": 0.7, "heater_nm": 1.5,
    }
    data.update(changes)
    return validate_config(DeviceSpec, data, source="device.yaml", base_dir=tmp_path)


def test_hexagonal_crystal_becomes_an_orthogonal_supercell():
    hcp = bulk("Mg", "hcp", a=3.2, c=5.2)
    cell, matrix = orthogonal_cell(hcp)
    assert np.allclose(np.asarray(cell.cell), np.diag(np.diag(np.asarray(cell.cell))))
    assert round(abs(np.linalg.det(matrix))) == 2 and len(cell) == 2 * len(hcp)
    assert cell.get_volume() / len(cell) == pytest.approx(hcp.get_volume() / len(hcp))
    assert min_pair_distance(cell) == pytest.approx(min_pair_distance(hcp), abs=1e-9)


def test_cell_without_axis_aligned_vectors_is_refused():
    skewed = Atoms("Cu", cell=[[2.5, 0.0, 0.0], [0.7, 2.3, 0.0], [0.37, 0.51, 2.9]], pbc=True)
    with pytest.raises(InputDataError, match="no combination of cell vectors"):
        orthogonal_cell(skewed, label="skewed.cif")


def test_device_size_and_regions(tmp_path):
    device = build_device(_spec(tmp_path))
    lengths = np.diag(np.asarray(device.atoms.cell))
    assert np.allclose(lengths, np.array([6, 6, 14]) * 3.615)  # whole cells nearest 2.2 x 2.2 x 5.0 nm
    z = device.atoms.positions[:, 2]
    names = [b.name for b in device.regions]
    assert names == ["frozen", "heater", "cell"]
    frozen, heater, cell = device.regions
    assert frozen.frozen and not heater.frozen
    # Boundaries sit in gaps between planes (spacing a/2): no atom within a quarter spacing of one.
    for boundary in (frozen.hi_A[2], heater.hi_A[2]):
        assert np.abs(z - boundary).min() == pytest.approx(3.615 / 4, abs=1e-6)
    assert frozen.hi_A[2] == pytest.approx(7.0, abs=3.615 / 4)
    assert heater.hi_A[2] - frozen.hi_A[2] == pytest.approx(15.0, abs=3.615 / 2)
    counts = [int(b.contains(device.atoms.positions).sum()) for b in device.regions]
    assert sum(counts) == len(device.atoms)  # every atom in exactly one region
    # No plane on the periodic boundary either.
    assert z.min() > 0.5 and lengths[2] - z.max() > 0.5


def test_slabs_thicker_than_the_device_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="leaves no active cell"):
        _spec(tmp_path, frozen_slab_nm=2.0, heater_nm=3.0)


def test_device_from_a_cif_file(tmp_path):
    # A hexagonal cell from a CIF: cut to an orthogonal box, regions in the gaps of its basal planes.
    bulk("Mg", "hcp", a=3.21, c=5.21).write(tmp_path / "mg.cif")
    spec = _spec(tmp_path, crystal={"file": "mg.cif"}, size_nm=[2.0, 2.0, 4.0], frozen_slab_nm=0.5, heater_nm=1.0)
    device = build_device(spec)
    cell = np.asarray(device.atoms.cell)
    assert np.allclose(cell, np.diag(np.diag(cell)))
    assert device.atoms.get_chemical_symbols() == ["Mg"] * len(device.atoms)
    assert min_pair_distance(device.atoms) == pytest.approx(3.19, abs=0.02)
    assert len(device.atoms) / device.atoms.get_volume() == pytest.approx(2 / (3.21**2 * np.sqrt(3) / 2 * 5.21))
    assert device.describe()["regions"]["frozen"]["frozen"] is True
