"""LAMMPS-side behaviour of the plugin: newton settings, per-atom tallies, type mapping."""

from __future__ import annotations

import numpy as np
import pytest

from simkit.ace.check import evaluate_lammps
from simkit.lammps.pace_plugin import ensure_pace
from simkit.lammps.structure import lammps_box
from tests.ace import helpers


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("features") / "sige.yace"
    return helpers.random_model(path, ("Si", "Ge"), 40, [8, 4, 3], [0, 3, 2], core=(40.0, 1.0),
                                inner=(1.8, 0.3), seed=3)


@pytest.fixture(scope="module")
def atoms(model):
    return helpers.check_structures(model, ("Si", "Ge"), close_A=1.9)["close contact"]


def _per_atom_run(model, atoms, newton: bool):
    lmp = helpers.lammps_instance()
    try:
        helpers.setup_system(lmp, atoms, ["Ge", "Si"], newton=newton)
        ensure_pace(lmp)
        lmp.command("pair_style pace")
        lmp.command(f"pair_coeff * * {model} Ge Si")
        lmp.command("compute pe all pe/atom")
        lmp.command("compute s all stress/atom NULL virial")
        lmp.command("compute ssum all reduce sum c_s[1] c_s[2] c_s[3] c_s[4] c_s[5] c_s[6]")
        lmp.command("compute p all pressure NULL virial")
        lmp.command("thermo_style custom pe press c_ssum[*] c_p[*]")
        lmp.command("run 0 post no")
        n = len(atoms)
        pe = np.ctypeslib.as_array(lmp.gather("c_pe", 1, 1)).reshape(n).copy()
        stress = np.ctypeslib.as_array(lmp.gather("c_s", 1, 6)).reshape(n, 6).copy()
        total = float(lmp.get_thermo("pe"))
        ssum = np.array(lmp.numpy.extract_compute("ssum", 0, 1)).copy()
        press = np.array(lmp.numpy.extract_compute("p", 0, 1)).copy()
        volume = float(lmp.get_thermo("vol"))
        return total, pe, stress, ssum, press, volume
    finally:
        lmp.close()


def test_newton_on_and_off_agree(model, atoms):
    on = evaluate_lammps(model, atoms, ["Ge", "Si"], newton=True)
    off = evaluate_lammps(model, atoms, ["Ge", "Si"], newton=False)
    assert on.energy_eV == pytest.approx(off.energy_eV, rel=1e-13)
    np.testing.assert_allclose(off.forces_eV_per_A, on.forces_eV_per_A, atol=1e-11)
    np.testing.assert_allclose(off.energies_eV, on.energies_eV, atol=1e-12)
    np.testing.assert_allclose(off.virial_eV, on.virial_eV, atol=1e-10)
    assert np.abs(on.forces_eV_per_A).max() > 1.0  # the close contact makes this non-trivial


@pytest.mark.parametrize("newton", [True, False])
def test_per_atom_energy_and_virial_add_up(model, atoms, newton):
    total, pe, stress, ssum, press, volume = _per_atom_run(model, atoms, newton)
    assert pe.sum() == pytest.approx(total, rel=1e-12)
    np.testing.assert_allclose(stress.sum(axis=0), ssum, rtol=1e-10, atol=1e-6)
    # compute stress/atom is -(per-atom virial) in pressure*volume; the pressure
    # compute reports virial/volume
    np.testing.assert_allclose(-ssum / volume, press, rtol=1e-9, atol=1e-6)
    assert np.abs(stress).max() > 0


def test_per_atom_virial_independent_of_newton(model, atoms):
    on = _per_atom_run(model, atoms, True)
    off = _per_atom_run(model, atoms, False)
    np.testing.assert_allclose(off[1], on[1], atol=1e-12)
    np.testing.assert_allclose(off[2], on[2], atol=1e-7 * np.abs(on[2]).max())


def test_two_types_for_one_element(model, atoms):
    """Several LAMMPS types may map to one element; the result must not change."""
    reference = evaluate_lammps(model, atoms, ["Ge", "Si"])
    # a third type that is Si again, given to every other Si atom
    lmp = helpers.lammps_instance()
    try:
        box = lammps_box(atoms)
        cell, q = box.cell_lammps, box.rotation
        (lx, _, _), (xy, ly, _), (xz, yz, lz) = (map(float, row) for row in cell)
        for line in ("units metal", "atom_style atomic", "atom_modify map array sort 0 0",
                     f"region box prism 0 {lx!r} 0 {ly!r} 0 {lz!r} {xy!r} {xz!r} {yz!r} units box",
                     "create_box 3 box"):
            lmp.command(line)
        symbols = atoms.get_chemical_symbols()
        types = [1 if s == "Ge" else (3 if i % 2 else 2) for i, s in enumerate(symbols)]
        lmp.create_atoms(len(atoms), list(range(1, len(atoms) + 1)), types,
                         (atoms.get_positions(wrap=True) @ q).ravel().tolist())
        lmp.command("mass * 28.0")
        ensure_pace(lmp)
        lmp.command("pair_style pace")
        lmp.command(f"pair_coeff * * {model} Ge Si Si")
        lmp.command("run 0 post no")
        e_three = float(lmp.get_thermo("pe"))
    finally:
        lmp.close()
    assert e_three == pytest.approx(reference.energy_eV, rel=1e-13)


def test_null_type_is_invisible_to_pace(model, atoms):
    """A type mapped to NULL (here handed to pair_style zero) takes no part in ACE."""
    keep = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "Si"]
    only_si = atoms[keep]
    reference = evaluate_lammps(model, only_si, ["Ge", "Si"])

    lmp = helpers.lammps_instance()
    try:
        box = lammps_box(atoms)
        cell, q = box.cell_lammps, box.rotation
        (lx, _, _), (xy, ly, _), (xz, yz, lz) = (map(float, row) for row in cell)
        for line in ("units metal", "atom_style atomic", "atom_modify map array sort 0 0",
                     f"region box prism 0 {lx!r} 0 {ly!r} 0 {lz!r} {xy!r} {xz!r} {yz!r} units box",
                     "create_box 2 box"):
            lmp.command(line)
        types = [1 if s == "Si" else 2 for s in atoms.get_chemical_symbols()]
        lmp.create_atoms(len(atoms), list(range(1, len(atoms) + 1)), types,
                         (atoms.get_positions(wrap=True) @ q).ravel().tolist())
        lmp.command("mass * 28.0")
        ensure_pace(lmp)
        lmp.command("pair_style hybrid/overlay pace zero 6.0")
        lmp.command(f"pair_coeff * * pace {model} Si NULL")
        lmp.command("pair_coeff * * zero")
        lmp.command("run 0 post no")
        energy = float(lmp.get_thermo("pe"))
    finally:
        lmp.close()
    assert energy == pytest.approx(reference.energy_eV, rel=1e-12)


def test_pair_style_keywords_of_ml_pace_are_accepted(model, atoms):
    reference = evaluate_lammps(model, atoms, ["Ge", "Si"]).energy_eV
    for style in ("pace product", "pace recursive", "pace recursive chunksize 2048"):
        lmp = helpers.lammps_instance()
        try:
            helpers.setup_system(lmp, atoms, ["Ge", "Si"])
            ensure_pace(lmp)
            lmp.command(f"pair_style {style}")
            lmp.command(f"pair_coeff * * {model} Ge Si")
            lmp.command("run 0 post no")
            assert float(lmp.get_thermo("pe")) == pytest.approx(reference, rel=1e-13)
        finally:
            lmp.close()
