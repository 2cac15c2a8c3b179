"""LAMMPS + simkit's pace plugin reproduces pyace on pacemaker-fitted models."""

from __future__ import annotations

import numpy as np
import pytest

from simkit.ace.check import check_model
from simkit.io.yace import load_yace
from tests.ace import helpers
from tests.ace.conftest import FITS

TOL = dict(energy_eV_per_atom=1e-8, force_eV_per_A=1e-7, virial_eV=1e-6)


def test_fits_cover_the_required_features(fitted_models):
    models = {name: load_yace(m.path) for name, m in fitted_models.items()}
    bases = {b.radbasename for m in models.values() for b in m.bonds.values()}
    assert bases == {"SBessel", "ChebExpCos", "ChebPow"}
    assert {len(m.elements) for m in models.values()} == {1, 2}
    assert {e.npoti for m in models.values() for e in m.embeddings.values()} == {
        "FinnisSinclair", "FinnisSinclairShiftedScaled"}
    ndens = {e.ndensity for m in models.values() for e in m.embeddings.values()}
    assert 1 in ndens and max(ndens) >= 2
    # with and without a core: the SBessel fit has none, the others do
    assert all(b.prehc == 0 for b in models["si_sbessel"].bonds.values())
    assert all(b.prehc != 0 for b in models["inp_chebpow_core"].bonds.values())
    assert {b.inner_cutoff_type for b in models["si_chebexpcos_zbl"].bonds.values()} == {"zbl"}
    assert models["inp_chebpow_core"].embeddings[0].rho_core_cutoff == pytest.approx(5.0)
    assert min(m.max_rank for m in models.values()) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FITS))
def test_plugin_matches_pyace(fitted_models, name):
    model = fitted_models[name]
    structures = helpers.check_structures(model.path, model.elements, close_A=model.close_contact_A)
    report = check_model(model.path, structures)
    print(report.format())
    assert {r.name for r in report.results} == {"rattled bulk", "surface slab", "compressed cell", "close contact"}
    for r in report.results:
        assert r.energy_diff_eV_per_atom <= TOL["energy_eV_per_atom"], r
        assert r.atom_energy_diff_eV <= 10 * TOL["energy_eV_per_atom"], r
        assert r.force_diff_eV_per_A <= TOL["force_eV_per_A"], r
        assert r.virial_diff_eV <= TOL["virial_eV"], r
    assert report.passed(**TOL)


@pytest.mark.slow
def test_close_contact_reaches_the_core_terms(fitted_models):
    """The close-contact structures really probe the inner cutoff / core switch."""
    from simkit.ace.check import evaluate_pyace

    model = fitted_models["inp_chebpow_core"]
    structures = helpers.check_structures(model.path, model.elements, close_A=model.close_contact_A)
    near = evaluate_pyace(model.path, structures["close contact"])
    far = evaluate_pyace(model.path, structures["rattled bulk"])
    # exp core at 1.8 A carries tens of eV and switches ACE off for the pair's atoms
    assert near.energies_eV.max() - far.energies_eV.max() > 5.0

    zbl = fitted_models["si_chebexpcos_zbl"]
    yace = load_yace(zbl.path)
    r_in = yace.bonds[(0, 0)].rcut_in_A
    assert zbl.close_contact_A < r_in, "the close contact must lie inside the ZBL switch"


def test_newton_off_matches_pyace(fitted_models):
    model = fitted_models["inp_chebpow_core"]
    structures = helpers.check_structures(model.path, model.elements, close_A=model.close_contact_A)
    report = check_model(model.path, {"close contact": structures["close contact"]}, newton=False)
    assert report.passed(**TOL), report.format()


def test_energy_and_forces_are_consistent(fitted_models):
    """Forces are minus the energy gradient (central differences), independent of pyace."""
    from simkit.ace.check import evaluate_lammps

    model = fitted_models["si_sbessel"]
    atoms = helpers.check_structures(model.path, model.elements)["rattled bulk"]
    base = evaluate_lammps(model.path, atoms, list(model.elements))
    h = 1e-5
    for index, axis in [(0, 0), (5, 1), (17, 2)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[index, axis] += h
        minus.positions[index, axis] -= h
        ep = evaluate_lammps(model.path, plus, list(model.elements)).energy_eV
        em = evaluate_lammps(model.path, minus, list(model.elements)).energy_eV
        assert base.forces_eV_per_A[index, axis] == pytest.approx(-(ep - em) / (2 * h), abs=2e-6)
    assert np.isfinite(base.energy_eV)
