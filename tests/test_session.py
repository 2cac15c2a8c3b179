"""The LAMMPS session layer: structures in, potentials, energies/forces/stress out."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, fcc111
from scipy.spatial.transform import Rotation

from simkit.errors import BackendSetupError, InputDataError, LammpsError
from simkit.lammps.potentials import LammpsPairPotential, OverlayPotential, ZblPotential
from simkit.lammps.potentials.eam import EamPotential
from simkit.lammps.potentials.snap import SnapPotential
from simkit.lammps.session import LammpsSession, evaluate_structures
from simkit.lammps.words import lammps_word


@pytest.fixture
def rattled_si(rng):
    atoms = bulk("Si", "diamond", 5.43, cubic=True).repeat(2)
    atoms.positions += rng.normal(0.0, 0.05, atoms.positions.shape)
    return atoms


def energy(atoms, potential):
    return evaluate_structures([atoms], potential)[0].energy_eV


def test_forces_are_minus_energy_gradient(rattled_si, si_snap):
    result = evaluate_structures([rattled_si], si_snap)[0]
    step = 1e-4
    for atom, axis in [(0, 0), (5, 1), (17, 2)]:
        plus, minus = rattled_si.copy(), rattled_si.copy()
        plus.positions[atom, axis] += step
        minus.positions[atom, axis] -= step
        numeric = -(energy(plus, si_snap) - energy(minus, si_snap)) / (2 * step)
        assert result.forces_eV_per_A[atom, axis] == pytest.approx(numeric, abs=1e-6)


def test_stress_is_strain_derivative_in_ase_convention(rattled_si, si_snap):
    result = evaluate_structures([rattled_si], si_snap)[0]
    eps = 1e-5
    for i, j in [(0, 0), (2, 2), (0, 1), (1, 2)]:
        strain = np.zeros((3, 3))
        strain[i, j] = strain[j, i] = eps if i == j else eps / 2
        plus, minus = rattled_si.copy(), rattled_si.copy()
        plus.set_cell(rattled_si.cell @ (np.eye(3) + strain), scale_atoms=True)
        minus.set_cell(rattled_si.cell @ (np.eye(3) - strain), scale_atoms=True)
        numeric = (energy(plus, si_snap) - energy(minus, si_snap)) / (2 * eps) / rattled_si.get_volume()
        assert result.stress_eV_per_A3[i, j] == pytest.approx(numeric, abs=1e-7)
    assert np.allclose(result.virial_eV, -result.stress_eV_per_A3 * rattled_si.get_volume())


def test_rotated_general_triclinic_cell_gives_rotated_results(rattled_si, si_snap):
    reference = evaluate_structures([rattled_si], si_snap)[0]
    rotation = Rotation.from_euler("xyz", [0.3, 0.7, -0.2]).as_matrix()
    rotated = rattled_si.copy()
    rotated.set_cell(rattled_si.cell @ rotation.T)
    rotated.positions = rattled_si.positions @ rotation.T
    result = evaluate_structures([rotated], si_snap)[0]
    assert result.energy_eV == pytest.approx(reference.energy_eV, abs=1e-9)
    assert np.allclose(result.forces_eV_per_A, reference.forces_eV_per_A @ rotation.T, atol=1e-9)
    assert np.allclose(result.stress_eV_per_A3, rotation @ reference.stress_eV_per_A3 @ rotation.T, atol=1e-10)


def test_primitive_and_large_tilt_cells_match_cubic(si_snap):
    cubic = evaluate_structures([bulk("Si", "diamond", 5.43, cubic=True)], si_snap)[0]
    primitive = bulk("Si", "diamond", 5.43).repeat(3)
    # An equivalent but badly skewed basis of the same lattice exceeds LAMMPS's tilt limits.
    skewed = primitive.copy()
    cell = np.array(primitive.cell)
    cell[2] += 2 * cell[0] + cell[1]
    skewed.set_cell(cell, scale_atoms=False)
    for atoms in (primitive, skewed):
        result = evaluate_structures([atoms], si_snap)[0]
        assert result.energy_eV / len(atoms) == pytest.approx(cubic.energy_eV / 8, abs=1e-10)
        assert np.abs(result.forces_eV_per_A).max() < 1e-8


def test_per_atom_energies_and_virials_sum_to_totals(rattled_si, si_snap):
    result = evaluate_structures([rattled_si], si_snap, per_atom=True)[0]
    assert result.energies_eV.shape == (len(rattled_si),)
    assert result.energies_eV.sum() == pytest.approx(result.energy_eV, abs=1e-9)
    assert np.allclose(result.virials_eV.sum(axis=0), result.virial_eV, atol=1e-8)


def test_zbl_overlay_only_acts_at_short_range(si_snap):
    pair = Atoms("Si2", positions=[[0, 0, 0], [1.2, 0, 0]], cell=[20, 20, 20], pbc=True)
    overlay = OverlayPotential([si_snap, ZblPotential(1.5, 2.0)])
    close = energy(pair, overlay) - energy(pair, si_snap)
    assert close > 5.0  # screened Coulomb repulsion of two Si nuclei at 1.2 Å is tens of eV
    bulk_si = bulk("Si", "diamond", 5.43, cubic=True)
    assert energy(bulk_si, overlay) == pytest.approx(energy(bulk_si, si_snap), abs=1e-10)


def test_non_periodic_cluster_and_slab(lammps_potentials):
    eam = EamPotential(lammps_potentials / "Cu_zhou.eam.alloy")
    slab = fcc111("Cu", size=(3, 3, 4), vacuum=8.0, periodic=False)
    slab.pbc = (True, True, False)
    cluster = Atoms("Cu4", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.5, 0], [0, 0, 2.5]])
    for atoms in (slab, cluster):
        result = evaluate_structures([atoms], eam)[0]
        assert np.isfinite(result.energy_eV)
        # Newton's third law: no net force on an isolated or slab system.
        assert np.abs(result.forces_eV_per_A.sum(axis=0)).max() < 1e-8


def test_velocities_round_trip(rattled_si, si_snap, rng):
    rattled_si.set_velocities(rng.normal(0, 0.01, (len(rattled_si), 3)))
    with LammpsSession() as session:
        session.create_system(rattled_si, ("Si",))
        back = session.to_atoms()
    assert np.allclose(back.get_velocities(), rattled_si.get_velocities(), atol=1e-12)
    assert np.allclose(back.positions % 10.86, rattled_si.positions % 10.86, atol=1e-9)


def test_unwrapped_positions_keep_image_flags(si_snap):
    atoms = bulk("Si", "diamond", 5.43, cubic=True)
    atoms.positions[0] += [5.43 * 2 + 0.1, -5.43 + 0.2, 0.3]  # atom 0 sits at the origin: image (2, -1, 0)
    with LammpsSession() as session:
        session.create_system(atoms, ("Si",))
        assert session.image_flags()[0].tolist() == [2, -1, 0]
        assert np.allclose(session.positions(unwrapped=True), atoms.positions, atol=1e-9)


def test_species_not_covered_by_potential_is_refused(si_snap):
    with LammpsSession() as session:
        session.create_system(bulk("Ge", "diamond", 5.66), ("Ge",))
        with pytest.raises(InputDataError, match="no parameters for element"):
            session.set_potential(si_snap)


def test_lammps_errors_carry_lammps_message(si_snap):
    with LammpsSession() as session:
        with pytest.raises(LammpsError) as info:
            session.command("fix 1 all nonsense_style")
    message = str(info.value)
    assert "fix 1 all nonsense_style" in message and "nonsense_style" in info.value.lammps_message
    assert "Last input line" not in message


def test_missing_pair_style_is_a_setup_error():
    fake = LammpsPairPotential("no_such_style 1.0", ["* * {species}"], elements=None, cutoff_A=1.0)
    with LammpsSession() as session:
        session.create_system(bulk("Si", "diamond", 5.43), ("Si",))
        with pytest.raises(BackendSetupError, match="pair_style no_such_style is not available"):
            session.set_potential(fake)


def test_left_handed_cell_is_refused(si_snap):
    atoms = bulk("Si", "diamond", 5.43, cubic=True)
    atoms.set_cell(np.array(atoms.cell)[[1, 0, 2]], scale_atoms=False)
    with pytest.raises(InputDataError, match="left-handed"):
        evaluate_structures([atoms], si_snap)


def test_repeated_evaluation_after_potential_change_is_fresh(si_snap):
    atoms = bulk("Si", "diamond", 5.43, cubic=True)
    atoms.positions[0] += 0.3
    zbl = ZblPotential(1.0, 3.0)
    with LammpsSession() as session:
        session.create_system(atoms, ("Si",))
        session.set_potential(si_snap)
        first = session.evaluate()
        session.set_potential(zbl)
        second = session.evaluate()
        session.set_potential(si_snap)
        third = session.evaluate()
    alone = evaluate_structures([atoms], zbl)[0]
    assert second.energy_eV == pytest.approx(alone.energy_eV, rel=1e-12)
    assert np.allclose(second.stress_eV_per_A3, alone.stress_eV_per_A3, rtol=1e-12, atol=0)
    assert third.energy_eV == pytest.approx(first.energy_eV, rel=1e-12)
    assert abs(second.energy_eV - first.energy_eV) > 1.0


@pytest.mark.parametrize("folder", ["with space", "hash#and$dollar", "quote's \"mixed\""])
def test_potential_paths_with_spaces_and_special_characters(tmp_path, rattled_si, si_snap, lammps_potentials, folder):
    # LAMMPS splits words at spaces, cuts at '#' and substitutes '$': the paths must arrive quoted.
    directory = tmp_path / folder
    directory.mkdir()
    for name in ("Si_Zuo_JPCA2020.snapcoeff", "Si_Zuo_JPCA2020.snapparam", "Cu_zhou.eam.alloy"):
        shutil.copy(lammps_potentials / name, directory / name)
    moved_snap = SnapPotential(directory / "Si_Zuo_JPCA2020.snapcoeff", directory / "Si_Zuo_JPCA2020.snapparam")
    assert energy(rattled_si, moved_snap) == energy(rattled_si, si_snap)
    copper = bulk("Cu", "fcc", 3.615, cubic=True).repeat(2)
    moved_eam = EamPotential(directory / "Cu_zhou.eam.alloy")
    assert energy(copper, moved_eam) == energy(copper, EamPotential(lammps_potentials / "Cu_zhou.eam.alloy"))


def test_unquotable_lammps_word_is_refused():
    assert lammps_word("plain/path.snap") == "plain/path.snap"
    with pytest.raises(InputDataError, match="line break"):
        lammps_word("two\nlines")
    with pytest.raises(InputDataError, match="rename it"):
        lammps_word("""both ' and \"\"\" quotes""")
