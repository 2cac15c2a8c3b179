"""On-the-fly crystallinity in LAMMPS equals the offline definition in simkit.analysis, atom by atom."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from simkit.analysis.steinhardt import BondOrderCriterion, bond_order
from simkit.lammps import crystallinity, observables, regions
from simkit.lammps.potentials.eam import EamPotential
from simkit.lammps.session import LammpsSession


@pytest.fixture(scope="module")
def copper(lammps_potentials):
    return EamPotential(lammps_potentials / "Cu_mishin1.eam.alloy")


@pytest.mark.parametrize("neighbours", [None, 12])
def test_lammps_solid_bonds_match_offline_analysis(copper, neighbours):
    rng = np.random.default_rng(5)
    atoms = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((4, 4, 4))
    # Rattled hard enough that many atoms lose solid bonds: the comparison covers both classes.
    atoms.positions += rng.normal(0.0, 0.3, atoms.positions.shape)
    criterion = BondOrderCriterion(cutoff_A=3.05, neighbours=neighbours, bond_threshold=0.6, min_solid_bonds=7)
    with LammpsSession() as session:
        session.create_system(atoms, ("Cu",))
        session.set_potential(copper)
        crystallinity.define_crystallinity(session, criterion)
        keyword = crystallinity.fraction_compute(session, "xf")
        session.set_thermo(0, [keyword])
        session.command("run 0 post no")
        online = session.gather(f"c_{crystallinity.BONDS_COMPUTE}", 1).astype(int)
        fraction = session.thermo()[keyword]
    offline = bond_order(atoms.positions, np.asarray(atoms.cell), atoms.pbc, criterion)
    assert 0 < offline.crystal_like.mean() < 1  # a real mix
    assert np.array_equal(online, offline.solid_bonds)
    assert fraction == pytest.approx(offline.crystal_like.mean())


def test_region_fractions_follow_the_atoms_inside(copper):
    atoms = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((4, 4, 6))
    top = atoms.positions[:, 2] > 0.5 * atoms.cell[2, 2]
    rng = np.random.default_rng(1)
    atoms.positions[top] += rng.normal(0.0, 0.6, (top.sum(), 3))  # disorder the upper half only
    blocks = [
        regions.Block("bottom", (None, None, None), (None, None, 0.4 * atoms.cell[2, 2])),
        regions.Block("upper", (None, None, 0.6 * atoms.cell[2, 2]), (None, None, None)),
    ]
    criterion = BondOrderCriterion(cutoff_A=3.05, neighbours=None)
    with LammpsSession() as session:
        session.create_system(atoms, ("Cu",))
        session.set_potential(copper)
        regions.define_regions(session, blocks)
        regions.split_frozen(session, blocks)
        watched = observables.define_observables(session, blocks, criterion)
        observables.install_thermo(session, watched)
        session.command("run 0 post no")
        thermo = session.thermo()
    values = {c.name: thermo[c.keyword] for c in watched.columns}
    assert values["bottom_crystalline_fraction"] == 1.0
    assert values["upper_crystalline_fraction"] < 0.1
    assert values["bottom_atoms"] == np.sum(atoms.positions[:, 2] <= 0.4 * atoms.cell[2, 2])
