"""Electronic stopping: the Lindhard-Scharff coefficient, tables, and what fix electron/stopping makes of them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from ase import Atoms

from simkit.errors import ConfigError, InputDataError
from simkit.lammps.potentials import ZblPotential
from simkit.lammps.session import LammpsSession
from simkit.radiation.stopping import (
    lindhard_scharff_k,
    lindhard_scharff_max_energy_eV,
    read_stopping_table,
    stopping_fix_energy_grid,
    stopping_power_table,
    write_lammps_table,
)
from simkit.units import AVOGADRO_PER_MOL, COULOMB_EV_A, J_PER_EV

BOHR_RADIUS_A = 0.529177210903  # CODATA 2018
BOHR_VELOCITY_M_PER_S = 2.18769126364e6  # alpha c, CODATA 2018
AMU_KG = 1.0e-3 / AVOGADRO_PER_MOL


def test_constant_follows_from_lindhard_scharff_theory():
    # S_e = Z1^(1/6) 8 pi e^2 a_0 Z1 Z2 / Z^(3/2) * v / v_0 with v = sqrt(2 E / M1):
    # the prefactor 8 pi e^2 a_0 sqrt(2 eV / amu) / v_0 is 1.216 with today's constants.
    prefactor = 8 * math.pi * COULOMB_EV_A * BOHR_RADIUS_A * math.sqrt(2 * J_PER_EV / AMU_KG) / BOHR_VELOCITY_M_PER_S
    assert prefactor == pytest.approx(1.212, rel=5e-3)
    assert lindhard_scharff_k(1, 1.0, 1) == pytest.approx(1.212 / 2**1.5)


def test_iron_self_stopping_hand_value_and_lss_reduced_units():
    # Fe in Fe: Z1 = Z2 = Z, so k = 1.212 Z^(7/6) Z / ((2 Z^(2/3))^(3/2) sqrt(M)) = 1.212 Z^(7/6) / (2^1.5 sqrt(M)).
    k = lindhard_scharff_k(26, 55.845, 26)
    assert k == pytest.approx(1.212 * 26 ** (7 / 6) / (2**1.5 * math.sqrt(55.845)), rel=1e-12)
    # The same stopping in LSS reduced units (the NRT constants): s = k_L sqrt(eps),
    # k_L = 0.1337 Z^(2/3) / sqrt(A), eps = E / E_L, E_L = 30.724 Z^2 sqrt(2 Z^(2/3)) * 2 eV;
    # S = s * pi a^2 * E / eps with a = 0.8853 a_0 / sqrt(2 Z^(2/3)).
    energy, z, a_mass = 1e4, 26, 55.845
    e_lindhard = 30.724 * z * z * math.sqrt(2 * z ** (2 / 3)) * 2
    screening_A = 0.8853 * BOHR_RADIUS_A / math.sqrt(2 * z ** (2 / 3))
    reduced = 0.1337 * z ** (2 / 3) / math.sqrt(a_mass) * math.sqrt(energy / e_lindhard)
    assert k * math.sqrt(energy) == pytest.approx(reduced * math.pi * screening_A**2 * e_lindhard, rel=5e-3)
    # bcc Fe, 2 atoms per (2.8665 Å)^3: dE/dx at 10 keV in eV/Å (about 22 eV/Å).
    density = 2 / 2.8665**3
    table = stopping_power_table(["Fe"], {"Fe": 1.0}, density, np.array([1e4]))
    assert table.shape == (1, 1)
    assert table[0, 0] == pytest.approx(density * k * 100.0, rel=1e-12)
    assert table[0, 0] == pytest.approx(21.8, abs=0.1)


def test_compound_target_adds_by_atom_fraction():
    energies = np.array([10.0, 1e3, 1e5])
    counts = stopping_power_table(["Sb", "Te"], {"Sb": 2, "Te": 3}, 0.03, energies)
    fractions = stopping_power_table(["Sb", "Te"], {"Sb": 0.4, "Te": 0.6}, 0.03, energies)
    assert counts == pytest.approx(fractions, rel=1e-12)
    sb_in_sb = stopping_power_table(["Sb"], {"Sb": 1}, 0.03, energies)[:, 0]
    sb_in_te = stopping_power_table(["Sb"], {"Te": 1}, 0.03, energies)[:, 0]
    assert counts[:, 0] == pytest.approx(0.4 * sb_in_sb + 0.6 * sb_in_te, rel=1e-12)
    assert np.all(np.diff(counts, axis=0) > 0)


def test_energies_beyond_lindhard_scharff_are_refused():
    limit = lindhard_scharff_max_energy_eV(1, 1.008)
    assert limit == pytest.approx(25e3, rel=0.01)  # about 25 keV for a proton
    with pytest.raises(ConfigError, match="species H"):
        stopping_power_table(["W", "H"], {"W": 1.0}, 0.063, np.array([1.0, 1e5]))


@pytest.mark.parametrize(
    ("composition", "message"),
    [({}, "composition"), ({"Fe": -1.0}, "composition.Fe"), ({"Qq": 1.0}, "'Qq'")],
)
def test_bad_compositions_name_the_key(composition, message):
    with pytest.raises(ConfigError, match=message):
        stopping_power_table(["Fe"], composition, 0.08, np.array([1.0, 10.0]))


def test_grid_spans_a_few_eV_to_beyond_the_pka_energy():
    grid = stopping_fix_energy_grid(50_000.0)
    assert grid[0] == pytest.approx(1.0)
    assert grid[-1] == pytest.approx(100_000.0)
    assert np.all(np.diff(np.log(grid)) > 0)
    assert len(grid) == 5 * 20 + 1
    with pytest.raises(ConfigError, match="max_energy_eV"):
        stopping_fix_energy_grid(-1.0)


def test_written_table_reads_back(tmp_path):
    energies = stopping_fix_energy_grid(1000.0)
    table = stopping_power_table(["Fe", "W"], {"Fe": 0.5, "W": 0.5}, 0.07, energies)
    path = write_lammps_table(tmp_path / "elstop.txt", energies, table, species=["Fe", "W"],
                              description="Lindhard-Scharff, Fe50W50, 0.07 atoms/A^3")
    text = path.read_text()
    assert text.startswith("# Electronic stopping table for LAMMPS fix electron/stopping")
    assert "# Lindhard-Scharff, Fe50W50" in text and "# E_eV Fe W" in text
    read_energies, read_table = read_stopping_table(path, 2)
    assert read_energies == pytest.approx(energies, rel=1e-10)
    assert read_table == pytest.approx(table, rel=1e-10)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("10 1 2\n5 1 2\n", r"table.txt:2: energies must increase"),
        ("10 1 2\n20 1\n", r"table.txt:2: expected 3 columns"),
        ("# header\n10 1 2\n\n20 nan 2\n", r"table.txt:4: non-finite"),
        ("10 1 2\n20 -1 2\n", r"table.txt:2: stopping power must not be negative"),
        ("0 1 2\n20 1 2\n", r"table.txt:1: energy must be positive"),
        ("10 1 x\n20 1 2\n", r"table.txt:1: 'x' is not a number"),
        ("# only a comment\n10 1 2\n", r"at least two energies"),
    ],
)
def test_bad_tables_name_file_and_line(tmp_path, body, message):
    path = tmp_path / "table.txt"
    path.write_text(body)
    with pytest.raises(InputDataError, match=message):
        read_stopping_table(path, 2)


def test_missing_table_names_the_file(tmp_path):
    with pytest.raises(InputDataError, match="nothere.txt"):
        read_stopping_table(tmp_path / "nothere.txt", 1)


def test_inline_comments_are_allowed(tmp_path):
    path = tmp_path / "table.txt"
    path.write_text("# E S\n1 0.5  # low\n100 5.0\n")
    energies, table = read_stopping_table(path, 1)
    assert energies.tolist() == [1.0, 100.0] and table[:, 0].tolist() == [0.5, 5.0]


def test_lammps_applies_each_column_to_its_atom_type(tmp_path):
    # Two non-interacting atoms (types Fe, W) at 100 eV; constant stopping 0.1 and 0.3 eV/Å: each loses
    # S times the distance it travels, and the fix's scalar is the total. (The fix adds no friction to the
    # first half step, an error of 1 in 2 x the steps.)
    stopping = {"Fe": 0.1, "W": 0.3}
    energies = np.array([1.0, 1e3])
    table = np.array([[stopping["Fe"], stopping["W"]]] * 2)
    path = write_lammps_table(tmp_path / "elstop.txt", energies, table, species=["Fe", "W"])
    atoms = Atoms("FeW", positions=[(0.0, 0.0, 0.0), (20.0, 40.0, 40.0)], pbc=False)
    masses = atoms.get_masses()
    atoms.set_velocities([(math.sqrt(2 * 100.0 / m), 0.0, 0.0) for m in masses])  # ASE units: eV, amu
    start = atoms.get_positions()
    with LammpsSession() as session:
        session.create_system(atoms, ["Fe", "W"])
        session.set_potential(ZblPotential(1.0, 2.0))
        session.commands(["fix simkit_nve all nve", f"fix simkit_el all electron/stopping 1.0 {path} minneigh 0"])
        session.run(500)
        end = session.to_atoms(unwrapped=True)
        lost_total = session.fix_scalar("simkit_el")
    travelled = np.linalg.norm(end.get_positions() - start, axis=1)
    kinetic = 0.5 * masses * np.sum(end.get_velocities() ** 2, axis=1)
    lost = 100.0 - kinetic
    assert lost == pytest.approx([stopping["Fe"] * travelled[0], stopping["W"] * travelled[1]], rel=2e-3)
    assert lost_total == pytest.approx(lost.sum(), rel=2e-3)
