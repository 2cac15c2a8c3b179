"""Features a quick fit cannot reach, on bases with random (bounded) coefficients.

Rank 7 with lmax 5, three elements with per-bond cutoffs, the "density" and
"zbl" inner-cutoff schemes, FinnisSinclair powers other than 1, finite core
density cutoffs, E0 shifts and coarse spline grids that do not divide the
cutoff: each is compared against pyace on the default structures plus a close
contact that reaches the inner region.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from simkit.ace.check import check_model, evaluate_lammps, evaluate_pyace
from simkit.io.yace import load_yace
from tests.ace import helpers

TOL = dict(energy_eV_per_atom=1e-8, force_eV_per_A=1e-7, virial_eV=1e-6)

CASES = {
    "rank7_lmax5": dict(
        elements=("Si",), functions=400, nradmax_by_orders=[12, 6, 4, 3, 2, 2, 1],
        lmax_by_orders=[0, 5, 4, 3, 2, 1, 0], close_A=None,
    ),
    "three_elements_per_bond_cutoffs": dict(
        elements=("Si", "Ge", "C"), functions=60, nradmax_by_orders=[8, 4, 3], lmax_by_orders=[0, 3, 2],
        radbase="ChebExpCos", rcut={("Si", "Ge"): 5.5, ("C", "C"): 4.2, ("Ge", "Ge"): 6.0},
        core=(50.0, 1.0), inner=(1.6, 0.3), close_A=1.45,
    ),
    "density_inner_cutoff_fs_powers": dict(
        elements=("Si", "Ge"), functions=50, nradmax_by_orders=[8, 4, 3], lmax_by_orders=[0, 3, 2],
        radbase="ChebPow", radparameters=(3.0,), npot="FinnisSinclair", fs_parameters=(1.0, 0.5, -0.7, 1.5),
        core=(20.0, 1.5), inner=(1.8, 0.4), inner_cutoff_type="density", rho_core=(8.0, 4.0),
        delta_spline_bins=0.03, close_A=1.2,
    ),
    "zbl_coarse_spline": dict(
        elements=("Si", "C"), functions=50, nradmax_by_orders=[8, 4, 3], lmax_by_orders=[0, 3, 2],
        fs_parameters=(1.0, 1.0), ndensity=1, core=(1.0, 1.0), inner=(1.5, 0.2), inner_cutoff_type="zbl",
        dcut=0.3, delta_spline_bins=0.05, close_A=1.35,
    ),
}


@pytest.fixture(scope="module")
def coverage_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("ace-random")
    out = {}
    for i, (name, spec) in enumerate(CASES.items()):
        spec = dict(spec)
        elements, close = spec.pop("elements"), spec.pop("close_A")
        functions = spec.pop("functions")
        path = helpers.random_model(root / f"{name}.yace", elements, functions, spec.pop("nradmax_by_orders"),
                                    spec.pop("lmax_by_orders"), seed=i, **spec)
        out[name] = (path, elements, close)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_random_basis_matches_pyace(coverage_models, name):
    path, elements, close = coverage_models[name]
    structures = helpers.check_structures(path, elements, close_A=close)
    report = check_model(path, structures)
    print(report.format())
    for r in report.results:
        assert abs(r.energy_eV_per_atom) < 100, "random coefficients should stay physically bounded"
    assert report.passed(**TOL), report.format()


def test_cases_have_the_advertised_features(coverage_models):
    rank7 = load_yace(coverage_models["rank7_lmax5"][0])
    assert rank7.max_rank == 7 and rank7.max_lmax == 5
    three = load_yace(coverage_models["three_elements_per_bond_cutoffs"][0])
    assert len({b.rcut_A for b in three.bonds.values()}) >= 3
    dens = load_yace(coverage_models["density_inner_cutoff_fs_powers"][0])
    assert {b.inner_cutoff_type for b in dens.bonds.values()} == {"density"}
    assert (5.0 / dens.delta_spline_bins_A) % 1 > 0.1  # grid step must be rounded to fit
    zbl = load_yace(coverage_models["zbl_coarse_spline"][0])
    assert {b.inner_cutoff_type for b in zbl.bonds.values()} == {"zbl"}


def test_e0_shift(coverage_models, tmp_path):
    path, elements, _ = coverage_models["three_elements_per_bond_cutoffs"]
    text = path.read_text()
    shifted = tmp_path / "shifted.yace"
    e0 = [-1.25, 0.5, -3.0]
    shifted.write_text(re.sub(r"^E0: \[.*\]$", f"E0: {e0}", text, count=1, flags=re.M))
    atoms = helpers.check_structures(path, elements)["rattled bulk"]
    order = list(load_yace(path).elements)
    expected_shift = sum(e0[order.index(s)] for s in atoms.get_chemical_symbols())

    plain = evaluate_lammps(path, atoms, order)
    moved = evaluate_lammps(shifted, atoms, order)
    reference = evaluate_pyace(shifted, atoms)
    assert moved.energy_eV - plain.energy_eV == pytest.approx(expected_shift, abs=1e-9)
    assert reference.energy_eV == pytest.approx(moved.energy_eV, abs=1e-8 * len(atoms))
    np.testing.assert_allclose(moved.forces_eV_per_A, plain.forces_eV_per_A, atol=1e-12)
