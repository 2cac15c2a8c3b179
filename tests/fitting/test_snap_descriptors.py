"""compute snap rows times a shipped potential's coefficients reproduce pair_style snap exactly."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from scipy.spatial.transform import Rotation

from simkit.datasets.reader import voigt_from_tensor
from simkit.lammps.potentials import OverlayPotential, SnapPotential, ZblPotential
from simkit.lammps.session import evaluate_structures
from simkit.lammps.snap_descriptors import SnapDescriptorSettings, bispectrum_count, descriptor_rows


def settings_of(potential: SnapPotential) -> SnapDescriptorSettings:
    p = potential.model.params
    flag = lambda key, default: bool(int(p.get(key, default)))  # noqa: E731
    return SnapDescriptorSettings(
        elements=potential.elements, rcutfac=float(p["rcutfac"]), twojmax=int(p["twojmax"]),
        radelem=tuple(e.radelem for e in potential.model.elements), wj=tuple(e.wj for e in potential.model.elements),
        rfac0=float(p.get("rfac0", 0.99363)), rmin0=float(p.get("rmin0", 0.0)), bzeroflag=flag("bzeroflag", 1),
        quadraticflag=flag("quadraticflag", 0), chemflag=flag("chemflag", 0), bnormflag=flag("bnormflag", 0),
        wselfallflag=flag("wselfallflag", 0),
    )


def test_bispectrum_count_matches_the_manual():
    # K = m(m+1)(2m+1)/6 for twojmax = 2(m-1); K = m(m+1)(m+2)/3 for twojmax = 2m-1
    assert [bispectrum_count(t) for t in (0, 2, 4, 6, 8)] == [1, 5, 14, 30, 55]
    assert [bispectrum_count(t) for t in (1, 3, 5)] == [2, 8, 20]


def _distorted(atoms, rng, rattle_A=0.12):
    rotation = Rotation.from_euler("xyz", [0.3, 0.7, -0.2]).as_matrix()
    atoms = atoms.copy()
    atoms.set_cell(np.asarray(atoms.cell) @ np.array([[1.0, 0.05, 0.0], [0.0, 1.0, 0.08], [0.03, 0.0, 1.0]]),
                   scale_atoms=True)
    atoms.positions += rng.normal(0.0, rattle_A, atoms.positions.shape)
    atoms.set_cell(np.asarray(atoms.cell) @ rotation.T)
    atoms.positions = atoms.positions @ rotation.T
    return atoms


@pytest.mark.parametrize(
    "name, crystal, zbl",
    [
        ("Si_Zuo_JPCA2020.quadratic", bulk("Si", "diamond", a=5.43, cubic=True), (2.0, 2.6)),
        ("InP_JCPA2020", bulk("InP", "zincblende", a=5.87, cubic=True), (2.2, 2.8)),
    ],
    ids=["Si-quadratic", "InP-chem-bzero"],
)
def test_rows_reproduce_shipped_snap_with_reference(name, crystal, zbl, lammps_potentials, rng):
    potential = SnapPotential(lammps_potentials / f"{name}.snapcoeff", lammps_potentials / f"{name}.snapparam")
    settings = settings_of(potential)
    assert settings.n_coefficients == len(potential.model.elements[0].coefficients)
    reference = ZblPotential(*zbl)
    atoms = _distorted(crystal.repeat((2, 1, 1)), rng)  # cell narrower than the InP cutoff on purpose
    truth = evaluate_structures([atoms], OverlayPotential([potential, reference]), species=potential.elements)[0]
    ref_only = evaluate_structures([atoms], reference, species=potential.elements)[0]

    rows = descriptor_rows([atoms], settings, reference)[0]
    beta = np.concatenate([e.coefficients for e in potential.model.elements])
    assert rows.reference_energy_eV == pytest.approx(ref_only.energy_eV, rel=1e-12)
    assert abs(rows.reference_energy_eV) > 1.0  # the reference really contributes here
    assert rows.energy @ beta + rows.reference_energy_eV == pytest.approx(truth.energy_eV, abs=1e-9)
    forces = rows.forces @ beta + rows.reference_forces_eV_per_A
    assert np.abs(forces - truth.forces_eV_per_A).max() < 1e-8
    # The session converts pressure with CODATA constants, LAMMPS with its own nktv2p (8e-8 apart).
    virial = rows.virial @ beta + rows.reference_virial_eV
    assert virial == pytest.approx(voigt_from_tensor(truth.virial_eV), rel=1e-6, abs=1e-6)
