"""Crystal-like atoms: Steinhardt/ten Wolde equal LAMMPS's computes; SOAP similarity separates phases."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from scipy.spatial.transform import Rotation

from simkit.analysis.crystallinity import CrystallinityModel, crystallinity_of_frames
from simkit.analysis.options import CrystallinityOptions
from simkit.analysis.soap import SoapDescriptor, SoapParameters
from simkit.analysis.steinhardt import BondOrderCriterion, bond_order
from simkit.io.h5md_reader import Frame
from simkit.lammps import dynamics
from simkit.lammps.potentials import EamPotential
from simkit.lammps.session import LammpsSession

COPPER = "fcc Cu 3.615"


@pytest.fixture(scope="module")
def copper_phases(lammps_potentials):
    """A 300 K crystal and a liquid quenched to 300 K at ~10^15 K/s (512 Cu atoms, EAM, 4x4x8 cells)."""
    potential = EamPotential(lammps_potentials / "Cu_zhou.eam.alloy")
    with LammpsSession() as session:
        session.create_system(bulk("Cu", "fcc", 3.615, cubic=True).repeat((4, 4, 8)), ["Cu"])
        session.set_potential(potential)
        dynamics.set_timestep(session, 2.0)
        dynamics.create_velocities(session, 600.0, 11)
        stages = {}
        for name, start, stop, steps in (("crystal", 300, 300, 200), ("melt", 2500, 2500, 1000),
                                         ("quench", 2500, 300, 500), ("quenched", 300, 300, 100)):
            dynamics.add_nvt(session, "nvt", start, stop, 100.0)
            dynamics.run_steps(session, steps, chunk=steps)
            dynamics.remove_fix(session, "nvt")
            stages[name] = session.to_atoms()
    return stages["crystal"], stages["quenched"]


def _frame(atoms, index=0) -> Frame:
    return Frame(index, index, float(index), atoms.positions.copy(), np.array(atoms.cell), tuple(atoms.pbc),
                 atoms.numbers.copy())


def _half_molten(crystal, quenched):
    """Upper half (along c) from the quenched liquid, lower half from the crystal: same cell."""
    upper_crystal = crystal.positions[:, 2] >= 0.5 * crystal.cell[2, 2]
    upper_liquid = (quenched.positions[:, 2] % quenched.cell[2, 2]) >= 0.5 * quenched.cell[2, 2]
    mixed = crystal[~upper_crystal] + quenched[upper_liquid]
    mixed.set_cell(crystal.cell)
    return mixed


@pytest.mark.parametrize("criterion", [
    BondOrderCriterion(cutoff_A=3.35),
    BondOrderCriterion(cutoff_A=3.1, neighbours=None, bond_threshold=0.5, min_solid_bonds=6),
    BondOrderCriterion(cutoff_A=3.0, degree=4, neighbours=12),
])
def test_bond_order_equals_lammps_orientorder_atom_atom_by_atom(lammps_potentials, rng, criterion):
    atoms = bulk("Cu", "fcc", 3.615, cubic=True).repeat((3, 3, 2))
    atoms.set_cell(np.array(atoms.cell) @ np.array([[1, 0, 0], [0.2, 1, 0], [0.1, 0.05, 1]]), scale_atoms=True)
    atoms.positions += rng.normal(0, 0.2, atoms.positions.shape)
    with LammpsSession() as session:
        session.create_system(atoms, ["Cu"])
        session.set_potential(EamPotential(lammps_potentials / "Cu_zhou.eam.alloy"))
        session.commands(criterion.lammps_commands("q"))
        session.command("run 0 post no")
        l = criterion.degree
        lammps = session.gather("c_q", 1 + 2 * (2 * l + 1))
        solid_bonds = session.gather("c_q_bonds", 1)
    mine = bond_order(atoms.positions, np.array(atoms.cell), atoms.pbc, criterion)
    np.testing.assert_allclose(mine.q_l, lammps[:, 0], atol=1e-12)
    components = lammps[:, 1::2] + 1j * lammps[:, 2::2]  # Re, Im for m = -l..l
    np.testing.assert_allclose(mine.normalised_qlm, components, atol=1e-12)
    np.testing.assert_array_equal(mine.solid_bonds, solid_bonds.astype(int))
    assert mine.q_l.max() > 0.1 and solid_bonds.max() > 0  # not a comparison of zeros


def test_soap_is_invariant_and_a_perfect_crystal_is_one_environment(rng):
    descriptor = SoapDescriptor(SoapParameters(cutoff_A=4.5, n_max=6, l_max=5), [29, 47])
    atoms = bulk("Cu", "fcc", 3.7, cubic=True).repeat(2)
    atoms.symbols[[0, 5, 9]] = "Ag"
    atoms.positions += rng.normal(0, 0.15, atoms.positions.shape)
    spectra = descriptor.compute(atoms.positions, np.array(atoms.cell), atoms.pbc, atoms.numbers)
    assert spectra.shape == (len(atoms), descriptor.size)
    np.testing.assert_allclose(np.linalg.norm(spectra, axis=1), 1.0)
    rotation = Rotation.from_rotvec([0.3, -1.1, 0.7]).as_matrix()
    rotated = descriptor.compute(atoms.positions @ rotation.T, np.array(atoms.cell) @ rotation.T, atoms.pbc,
                                 atoms.numbers)
    np.testing.assert_allclose(rotated, spectra, atol=1e-6)  # tabulated radial integrals: ~1e-7
    order = rng.permutation(len(atoms))
    permuted = descriptor.compute(atoms.positions[order], np.array(atoms.cell), atoms.pbc, atoms.numbers[order])
    np.testing.assert_allclose(permuted, spectra[order], atol=1e-10)
    assert descriptor.kernel(spectra[:1], spectra[1:]).max() < 0.999  # rattled: environments differ

    perfect = bulk("Cu", "fcc", 3.7, cubic=True).repeat(2)
    ideal = descriptor.compute(perfect.positions, np.array(perfect.cell), perfect.pbc, perfect.numbers)
    np.testing.assert_allclose(descriptor.kernel(ideal, ideal[:1]), 1.0, atol=1e-9)


@pytest.mark.parametrize("method", ["soap", "bond_order"])
def test_crystal_one_quenched_liquid_zero_half_molten_between(copper_phases, method):
    crystal, quenched = copper_phases
    options = CrystallinityOptions(method=method, reference_lattice=COPPER, slabs=8, slab_axis=2)
    model = CrystallinityModel(options, [29])
    half = _half_molten(crystal, quenched)
    result = crystallinity_of_frames([_frame(crystal, 0), _frame(quenched, 1), _frame(half, 2)], model)
    assert result.fraction[0] > 0.97
    assert result.fraction[1] < 0.05
    # Atoms within a few Å of the two interfaces are neither: the fraction is somewhat below 1/2.
    assert 0.3 < result.fraction[2] < 0.6
    # Per region: slabs inside the crystal half stay crystalline, slabs inside the liquid half do not.
    by_slab = result.fraction_by_region[2]
    assert np.all(by_slab[1:3] > 0.8) and np.all(by_slab[5:7] < 0.1), by_slab
    assert len(result.score) == 3 and len(result.score[0]) == len(crystal)  # a list: frame 2 has other atoms
    assert result.fraction_by_species["Cu"][0] == result.fraction[0]


def test_soap_threshold_is_the_documented_default_and_regions_can_be_masks(copper_phases):
    crystal, quenched = copper_phases
    options = CrystallinityOptions(reference_lattice=COPPER)
    assert options.threshold == 0.57
    model = CrystallinityModel(options, [29])
    score, crystal_like = model.per_atom(crystal.positions, np.array(crystal.cell), crystal.pbc, crystal.numbers)
    np.testing.assert_array_equal(crystal_like, score > 0.57)
    regions = (np.arange(len(crystal)) % 3).astype(int)  # any per-atom labelling
    result = crystallinity_of_frames([_frame(crystal)], model, regions=regions)
    assert result.fraction_by_region.shape == (1, 3) and result.region_label == "region id"


def test_options_need_a_reference_for_soap():
    with pytest.raises(ValueError, match="soap method needs reference_file or reference_lattice"):
        CrystallinityOptions()
    with pytest.raises(ValueError, match="expected 'LATTICE ELEMENT a_A'"):
        CrystallinityOptions(reference_lattice="fcc Cu")
    assert CrystallinityOptions(method="bond_order", q_cutoff_A=3.3).q_neighbours == 12
