"""The SOAP criterion on the Sb2Te3 teacher: its crystal reads crystalline, its glass does not.

The teacher (XPOT-Sb2Te3.yace, shipped in potentials/) makes both phases here:
a rocksalt-like cell at 300 K, and the same cell melted at 1600 K and
quenched to 300 K at ~1.4e14 K/s. The reference is the cell's own starting
crystal, as in the demo's cycle.
"""

from __future__ import annotations

import numpy as np
import pytest

from simkit.analysis.crystallinity import CrystallinityModel
from simkit.analysis.options import CrystallinityOptions
from simkit.analysis.steinhardt import BondOrderCriterion, bond_order
from simkit.config.schema import resolve_path
from simkit.distil.teachers import make_teacher
from simkit.lammps.potentials.specs import AceSpec
from simkit.structures.spec import StructureSpec, load_structure

pytestmark = pytest.mark.slow

TEACHER = AceSpec(kind="ace", yace=resolve_path("simkit:XPOT-Sb2Te3.yace", "."))
ON_THE_FLY = BondOrderCriterion(cutoff_A=3.6, degree=4, neighbours=None, bond_threshold=0.7, min_solid_bonds=3)


@pytest.fixture(scope="module")
def phases():
    start = load_structure(StructureSpec(builtin={"name": "Sb2Te3-rocksalt", "a_A": 6.215}, repeat=(2, 2, 3)),
                           np.random.default_rng(7))
    teacher = make_teacher(TEACHER)
    crystal = teacher.sample(start, [(300.0, 300.0, 1.0)], 0.5, 2.0, 3)
    glass = teacher.sample(start, [(1600.0, 1600.0, 2.0), (1600.0, 300.0, 9.0), (300.0, 300.0, 1.0)], 0.5, 2.0, 5)
    return start, [s.atoms for s in crystal], [s.atoms for s in glass[-2:]]


def _fraction(model, frames) -> float:
    return float(np.mean([model.per_atom(a.positions, np.array(a.cell), a.pbc, a.numbers)[1].mean() for a in frames]))


def test_soap_reads_the_teachers_crystal_as_crystal_and_its_glass_as_amorphous(phases, tmp_path):
    start, crystal, glass = phases
    start.write(tmp_path / "start.extxyz")
    # The demo's criterion: SOAP against the starting crystal, zeta 3, threshold 0.57.
    options = CrystallinityOptions(method="soap", soap_zeta=3.0, threshold=0.57, reference_file=tmp_path / "start.extxyz")
    model = CrystallinityModel(options, start.numbers)
    assert _fraction(model, crystal) > 0.9
    assert _fraction(model, glass) < 0.1


def test_the_on_the_fly_bond_order_criterion_separates_them_too(phases):
    _, crystal, glass = phases
    flags = lambda frames: np.mean([bond_order(a.positions, np.array(a.cell), a.pbc, ON_THE_FLY).crystal_like.mean()
                                    for a in frames])
    assert flags(crystal) > 0.9
    assert flags(glass) < 0.2
