"""``simkit validate``: values against an independent implementation (ASE's EAM calculator and
ASE's optimiser, no LAMMPS), against the potential's own paper, and its refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from ase.build import bulk

from simkit.config import load_config
from simkit.errors import ConfigError
from simkit.validation.config import ValidateConfig
from simkit.validation.crystal import birch_murnaghan_eV, fit_birch_murnaghan
from simkit.validation.job import validate_job
from simkit.validation.shortrange import find_hole
from tests.conftest import REPO, run_cli

MISHIN = "lammps:Cu_mishin1.eam.alloy"
GPA_PER_EV_PER_A3 = 160.21766208


def _config(path: Path, **changes) -> Path:
    data = {
        "output_dir": "out",
        "potential": {"kind": "eam/alloy", "file": MISHIN},
        "structure": {"bulk": {"element": "Cu", "crystal": "fcc", "a_A": 3.55, "cubic": True}},
        "properties": {"eos": {}, "elastic": {}, "vacancy": {"repeat": [3, 3, 3]}},
    }
    data.update(changes)
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def ase_eam(lammps_potentials):
    from ase.calculators.eam import EAM

    return EAM(potential=str(lammps_potentials / "Cu_mishin1.eam.alloy"))


@pytest.fixture(scope="module")
def cu_validation(tmp_path_factory):
    folder = tmp_path_factory.mktemp("validate-cu")
    config = load_config(ValidateConfig, _config(folder / "cu.yaml"))
    summary = validate_job(config)
    return {row["quantity"]: row for row in summary["table"]}, folder / "out"


def _ase_energy(calc, a: float, strain: np.ndarray | None = None) -> tuple[float, float]:
    atoms = bulk("Cu", "fcc", a, cubic=True)
    if strain is not None:
        atoms.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + strain).T, scale_atoms=True)
    atoms.calc = calc
    return atoms.get_potential_energy(), atoms.get_volume()


def test_lattice_and_elastic_constants_equal_an_independent_eam_implementation(cu_validation, ase_eam):
    from scipy.optimize import minimize_scalar

    rows, _ = cu_validation
    best = minimize_scalar(lambda a: _ase_energy(ase_eam, a)[0], bracket=(3.55, 3.6, 3.65), tol=1e-10)
    assert rows["a_A"]["value"] == pytest.approx(best.x, abs=2e-5)
    assert rows["energy_per_atom_eV"]["value"] == pytest.approx(best.fun / 4, abs=1e-5)

    # Elastic constants from second derivatives of ASE's energy under small strains (no stresses involved).
    e0, v0 = _ase_energy(ase_eam, best.x)
    step = 1e-3

    def curvature(strain):
        plus, _ = _ase_energy(ase_eam, best.x, strain * step)
        minus, _ = _ase_energy(ase_eam, best.x, -strain * step)
        return (plus + minus - 2 * e0) / step**2 / v0 * GPA_PER_EV_PER_A3

    xx, xx_yy, shear = np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((3, 3))
    xx[0, 0] = xx_yy[0, 0] = xx_yy[1, 1] = 1.0
    shear[1, 2] = shear[2, 1] = 0.5  # engineering shear strain 1
    c11 = curvature(xx)
    c12 = curvature(xx_yy) / 2 - c11
    c44 = curvature(shear)
    assert rows["C11_GPa"]["value"] == pytest.approx(c11, abs=0.2)
    assert rows["C12_GPa"]["value"] == pytest.approx(c12, abs=0.2)
    assert rows["C44_GPa"]["value"] == pytest.approx(c44, abs=0.05)
    assert rows["C22_GPa"]["value"] == pytest.approx(rows["C11_GPa"]["value"], rel=1e-6)  # cubic symmetry
    assert "C14_GPa" not in rows  # zero by symmetry: not reported as a number
    # the O(strain^2) error the Richardson step removes is stated, and small
    assert 0 < rows["elastic_strain_effect_GPa"]["value"] < 1.0


def test_vacancy_formation_energy_equals_an_independent_relaxation(cu_validation, ase_eam):
    from ase.optimize import BFGS

    rows, _ = cu_validation
    a = rows["a_A"]["value"]
    perfect = bulk("Cu", "fcc", a, cubic=True).repeat(3)
    perfect.calc = ase_eam
    e_perfect = perfect.get_potential_energy()
    defective = perfect.copy()
    del defective[0]
    defective.calc = ase_eam
    BFGS(defective, logfile=None).run(fmax=1e-4, steps=500)
    expected = defective.get_potential_energy() - 107 / 108 * e_perfect
    assert rows["vacancy_supercell_atoms"]["value"] == 108
    assert rows["vacancy_formation_eV"]["value"] == pytest.approx(expected, abs=0.02)
    assert rows["vacancy_formation_eV"]["value"] == pytest.approx(expected, abs=1e-3)  # in fact much closer


def test_eos_fit_agrees_with_the_elastic_bulk_modulus(cu_validation):
    rows, out = cu_validation
    # B0 of a +-10 % Birch-Murnaghan fit and (C11 + 2 C12) / 3 at V0 differ by the EOS's departure from BM form
    assert rows["B0_GPa"]["value"] == pytest.approx(rows["bulk_modulus_voigt_GPa"]["value"], rel=0.04)
    assert rows["V0_A3_per_atom"]["value"] == pytest.approx(rows["volume_per_atom_A3"]["value"], rel=1e-3)
    assert (out / "eos.png").stat().st_size > 0 and (out / "validation.md").is_file()
    written = json.loads((out / "validation.json").read_text())
    assert written["failed"] == [] and len(written["curves"]["potential"]["eos"]["volume_A3_per_atom"]) == 11


def test_birch_murnaghan_fit_recovers_its_parameters():
    volumes = np.linspace(10.0, 13.0, 15)
    energies = birch_murnaghan_eV(volumes, -3.5, 11.8, 140.0 / GPA_PER_EV_PER_A3, 4.8)
    fit = fit_birch_murnaghan(volumes, energies)
    assert (fit.e0_eV, fit.v0_A3, fit.b0_GPa, fit.b0_prime) == pytest.approx((-3.5, 11.8, 140.0, 4.8), rel=1e-6)


def test_the_shipped_example_reproduces_the_potentials_paper(tmp_path):
    """inputs/validate_cu.yaml: Mishin et al. (2001) Table III within the stated tolerances; exit 0."""
    result = run_cli("validate", str(REPO / "inputs" / "validate_cu.yaml"), "-o", str(tmp_path / "cu"))
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {row["quantity"]: row for row in json.loads((tmp_path / "cu" / "validation.json").read_text())["table"]}
    compared = [row for row in rows.values() if row["tolerance"] is not None]
    assert len(compared) == 11 and all(row["passed"] for row in compared)
    assert rows["dimer_Cu-Cu_hole_A"]["value"] is None and "no hole" in rows["dimer_Cu-Cu_hole_A"]["note"]


def test_a_potential_with_a_short_range_hole_is_flagged(tmp_path):
    """Morse plus a narrow Gaussian well at r = 0: fine near equilibrium, a hole inside 1 Å."""
    hole = {"kind": "lammps", "pair_style": "hybrid/overlay morse 6.0 gauss 6.0",
            "pair_coeff": ["* * morse 0.5 1.0 2.5", "* * gauss 40.0 4.0"], "elements": ["Cu"], "cutoff_A": 6.0}
    config = _config(tmp_path / "hole.yaml", potential=hole, properties={"dimer": {"closest_A": 0.3}})
    result = run_cli("validate", str(config))
    assert result.returncode == 8, result.stdout + result.stderr
    assert "FAILED Cu-Cu dimer: the energy turns down at" in result.stdout
    # the crystal collapses into the hole: recorded as the lattice's result, the dimer table is kept
    assert "FAILED lattice: could not be computed" in result.stdout
    row = {r["quantity"]: r for r in json.loads((tmp_path / "out" / "validation.json").read_text())["table"]}
    assert 0.3 < row["dimer_Cu-Cu_hole_A"]["value"] < 1.5

    # the analysis itself, on constructed curves
    r = np.linspace(0.5, 5.0, 50)
    assert find_hole(r, (r - 2.5) ** 2 - 1)["hole_A"] is None
    dipped = (r - 2.5) ** 2 - 1 - 8 * np.exp(-((r - 1.0) / 0.2) ** 2)
    assert find_hole(r, dipped)["hole_A"] == pytest.approx(1.42, abs=0.05)  # where the dip overtakes the wall
    tail = (r - 2.5) ** 2 - 1 + 0.01 * np.sin(8 * r) * (r > 3.5)  # wiggles beyond the well are no hole
    assert find_hole(r, tail)["hole_A"] is None


def test_a_reference_potential_is_computed_the_same_way(tmp_path):
    config = _config(tmp_path / "ref.yaml", properties={"elastic": {}},
                     reference={"potential": {"kind": "eam/alloy", "file": "lammps:Cu_zhou.eam.alloy"}},
                     tolerances={"C44_GPa": 100.0, "a_A": 1e-6})
    summary = validate_job(load_config(ValidateConfig, config))
    rows = {row["quantity"]: row for row in summary["table"]}
    assert rows["C44_GPa"]["passed"] is True and rows["a_A"]["passed"] is False
    assert rows["a_A"]["difference"] == pytest.approx(rows["a_A"]["value"] - rows["a_A"]["reference"])
    assert summary["failed"] == [next(line for line in summary["failed"] if line.startswith("a_A:"))]


@pytest.mark.parametrize(("changes", "message"), [
    ({"tolerances": {"a_A": 0.01}}, "tolerances compare with a reference"),
    ({"reference": {"values": {"bogus_GPa": 1.0}}}, "bogus_GPa"),
    ({"properties": {"surfaces": {"miller": [[1, 1, 1]], "vacuum_A": 3.0}}}, "vacuum_A = 3"),
    ({"properties": {"surfaces": {"miller": [[0, 0, 0]]}}}, "Miller indices"),
    ({"properties": {"interstitials": {"x": {"dumbbell": [1, 0, 0], "site_frac": [0.5, 0, 0]}}}}, "exactly one"),
    ({"properties": {"elastic": {"strain": 0.5}}}, "properties.elastic.strain"),
    ({"structure": {"bulk": {"element": "Fe", "crystal": "bcc", "a_A": 2.86}}}, "Fe not covered"),
    ({"properties": {"eos": {"points": 3}}}, "properties.eos.points"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_configs_are_refused_with_the_key_named(tmp_path, changes, message):
    result = run_cli("validate", str(_config(tmp_path / "bad.yaml", **changes)))
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "validation.json").exists()


def test_an_earlier_validation_is_kept_unless_overwrite(tmp_path):
    config = _config(tmp_path / "cu.yaml", properties={})
    assert run_cli("validate", str(config)).returncode == 0
    before = (tmp_path / "out" / "validation.json").read_bytes()
    refused = run_cli("validate", str(config))
    assert refused.returncode == 2 and "--overwrite" in refused.stderr
    assert (tmp_path / "out" / "validation.json").read_bytes() == before
    assert run_cli("validate", str(config), "--overwrite").returncode == 0


@pytest.mark.mpi
def test_two_ranks_give_the_serial_numbers(tmp_path):
    config = _config(tmp_path / "cu.yaml", properties={"elastic": {}, "vacancy": {"repeat": [3, 3, 3]},
                                                       "dimer": {}})
    serial = run_cli("validate", str(config), "-o", str(tmp_path / "serial"))
    parallel = run_cli("validate", str(config), "-o", str(tmp_path / "mpi"), np_ranks=2)
    assert serial.returncode == 0 and parallel.returncode == 0, parallel.stderr
    one, two = (json.loads((tmp_path / name / "validation.json").read_text())["table"] for name in ("serial", "mpi"))
    for a, b in zip(one, two):
        assert a["quantity"] == b["quantity"]
        if isinstance(a["value"], float):
            assert b["value"] == pytest.approx(a["value"], rel=1e-7, abs=1e-9), a["quantity"]
    shutil.rmtree(tmp_path / "mpi")


@pytest.mark.slow
def test_liquid_structure_and_its_comparison_with_a_reference_run(tmp_path):
    liquid = {"temperature_K": 1600, "melt_temperature_K": 2500, "melt_ps": 2, "equilibrate_ps": 2,
              "production_ps": 4, "bond_cutoff_A": 3.3, "repeat": [3, 3, 3]}
    config = _config(tmp_path / "liquid.yaml", properties={"liquid": liquid},
                     reference={"potential": {"kind": "eam/alloy", "file": MISHIN}},
                     tolerances={"liquid_rdf_abs_difference_A": 1e-12, "liquid_density_g_per_cm3": 1e-12})
    summary = validate_job(load_config(ValidateConfig, config))
    rows = {row["quantity"]: row for row in summary["table"]}
    # liquid copper near its melting point (7.9 g/cm^3 measured at 1400 K; 12 neighbours, peak at 2.5 Å)
    assert 7.3 < rows["liquid_density_g_per_cm3"]["value"] < 8.1
    assert 2.3 < rows["liquid_rdf_first_peak_A"]["value"] < 2.6
    assert 10.5 < rows["liquid_coordination"]["value"] < 13.0
    assert rows["liquid_samples"]["value"] == 20
    # the same potential and seed as reference: the runs are identical, so the differences are exactly 0
    assert rows["liquid_rdf_abs_difference_A"]["value"] == 0.0 and rows["liquid_rdf_abs_difference_A"]["passed"]
    assert rows["liquid_density_g_per_cm3"]["difference"] == 0.0
    assert (tmp_path / "out" / "liquid.png").stat().st_size > 0


def test_liquid_targets_need_the_liquid_settings(tmp_path):
    config = _config(tmp_path / "bad.yaml", reference={"values": {"liquid_density_g_per_cm3": 7.9}})
    with pytest.raises(ConfigError, match="liquid_density_g_per_cm3"):
        validate_job(load_config(ValidateConfig, config))


def test_phonons_equal_phonopy_driven_by_an_independent_eam(tmp_path, ase_eam):
    import warnings

    from ase import Atoms
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms
    from phonopy.structure.cells import PrimitiveMatrixAutoDefaultWarning

    q_points = {"X": [0.5, 0.0, 0.5], "L": [0.5, 0.5, 0.5]}
    config = _config(tmp_path / "ph.yaml", properties={"phonons": {"repeat": [3, 3, 3], "q_points": q_points}})
    summary = validate_job(load_config(ValidateConfig, config))
    rows = {row["quantity"]: row["value"] for row in summary["table"]}

    unit = bulk("Cu", "fcc", rows["a_A"], cubic=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrimitiveMatrixAutoDefaultWarning)
        phonon = Phonopy(PhonopyAtoms(symbols=unit.get_chemical_symbols(), cell=unit.cell[:],
                                      scaled_positions=unit.get_scaled_positions()),
                         supercell_matrix=np.diag([3, 3, 3]), primitive_matrix="auto")
    phonon.generate_displacements(distance=0.01)
    forces = []
    for cell in phonon.supercells_with_displacements:
        atoms = Atoms(cell.symbols, cell=cell.cell, scaled_positions=cell.scaled_positions, pbc=True)
        atoms.calc = ase_eam
        forces.append(atoms.get_forces())
    phonon.forces = forces
    phonon.produce_force_constants()
    for name, q in q_points.items():
        expected = sorted(phonon.run_qpoints([q]).frequencies[0])
        ours = [rows[f"phonon_{name}_{k}_THz"] for k in (1, 2, 3)]
        np.testing.assert_allclose(ours, expected, atol=0.01)
    # Cu measured (Svensson et al. 1967): X 5.1 / 7.3 THz, L 3.4 / 7.3 THz; the EAM within ~10 %
    assert rows["phonon_X_3_THz"] == pytest.approx(7.25, rel=0.1) and rows["phonon_min_THz"] == 0.0
    assert (tmp_path / "out" / "phonon_dos.png").stat().st_size > 0


def test_stacking_fault_energy_from_a_given_structure_matches_the_paper(tmp_path, cu_validation):
    """An intrinsic stacking fault: a [111] stack whose periodic vector is tilted by the partial a/6<112>."""
    from ase.lattice.cubic import FaceCenteredCubic

    rows, _ = cu_validation
    a = rows["a_A"]["value"]
    fault = FaceCenteredCubic("Cu", directions=[[1, -1, 0], [1, 1, -2], [1, 1, 1]], size=(1, 1, 6),
                              latticeconstant=a)
    cell = np.array(fault.cell)
    cell[2] += [0.0, a / np.sqrt(6.0), 0.0]
    fault.set_cell(cell, scale_atoms=False)
    fault.write(tmp_path / "isf.extxyz")
    perfect = FaceCenteredCubic("Cu", directions=[[1, -1, 0], [1, 1, -2], [1, 1, 1]], size=(1, 1, 6),
                                latticeconstant=a)
    perfect.write(tmp_path / "perfect.extxyz")
    planar = {"isf": {"file": "isf.extxyz"}, "isf_normal": {"file": "isf.extxyz", "relax_cell_normal": True},
              "none": {"file": "perfect.extxyz"}}
    config = _config(tmp_path / "isf.yaml", properties={"planar_defects": planar},
                     reference={"values": {"planar_isf_J_per_m2": 0.0444}, "source": "Mishin et al. 2001"},
                     tolerances={"planar_isf_J_per_m2": 0.001})
    summary = validate_job(load_config(ValidateConfig, config))
    values = {row["quantity"]: row for row in summary["table"]}
    assert values["planar_isf_J_per_m2"]["passed"], values["planar_isf_J_per_m2"]
    assert values["planar_isf_normal_J_per_m2"]["value"] == pytest.approx(0.0444, abs=0.001)
    assert abs(values["planar_none_J_per_m2"]["value"]) < 1e-6  # the perfect stack has no fault


def test_a_planar_defect_of_another_composition_is_refused(tmp_path):
    from ase.build import bulk as build

    build("Ni", "fcc", 3.52, cubic=True).write(tmp_path / "ni.extxyz")
    config = _config(tmp_path / "bad.yaml", potential={"kind": "eam/alloy", "file": "lammps:CuNi.eam.alloy"},
                     properties={"planar_defects": {"x": {"file": "ni.extxyz"}}})
    result = run_cli("validate", str(config))
    assert result.returncode == 2 and "planar_defects.x" in result.stderr and "one element" in result.stderr


def test_snap_elastic_constants_by_stress_equal_those_by_energy_with_relaxed_ions(tmp_path):
    """Diamond Si with the Zuo SNAP shipped in LAMMPS: validate's stress differences (LAMMPS minimiser,
    Richardson step) against energy second derivatives with ions relaxed by ASE's BFGS through the
    calculator: two routes to the relaxed-ion C_ij (C44 differs from the clamped-ion value in diamond)."""
    from ase.optimize import BFGS
    from threadpoolctl import threadpool_limits

    from simkit.lammps.ase_calculator import SimkitCalculator
    from simkit.lammps.potentials.snap import SnapPotential
    from simkit.runtime.paths import lammps_potentials_dir

    folder = lammps_potentials_dir()
    snap = {"kind": "snap", "coeff": "lammps:Si_Zuo_JPCA2020.snapcoeff", "param": "lammps:Si_Zuo_JPCA2020.snapparam"}
    config = _config(tmp_path / "si.yaml", potential=snap, properties={"elastic": {}},
                     structure={"bulk": {"element": "Si", "crystal": "diamond", "a_A": 5.45, "cubic": True}})
    rows = {row["quantity"]: row["value"] for row in validate_job(load_config(ValidateConfig, config))["table"]}
    a = rows["a_A"]
    potential = SnapPotential(folder / "Si_Zuo_JPCA2020.snapcoeff", folder / "Si_Zuo_JPCA2020.snapparam")
    step = 2e-3
    with SimkitCalculator(potential) as calc, threadpool_limits(1):
        def energy(strain, relax):
            atoms = bulk("Si", "diamond", a, cubic=True)
            atoms.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + strain).T, scale_atoms=True)
            atoms.calc = calc
            if relax:
                BFGS(atoms, logfile=None).run(fmax=1e-6, steps=200)
            return atoms.get_potential_energy(), atoms.get_volume()

        e0, v0 = energy(np.zeros((3, 3)), False)

        def curvature(strain, relax=False):
            plus, _ = energy(strain * step, relax)
            minus, _ = energy(-strain * step, relax)
            return (plus + minus - 2 * e0) / step**2 / v0 * GPA_PER_EV_PER_A3

        xx, xx_yy, shear = np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((3, 3))
        xx[0, 0] = xx_yy[0, 0] = xx_yy[1, 1] = 1.0
        shear[1, 2] = shear[2, 1] = 0.5
        c11 = curvature(xx)
        c12 = curvature(xx_yy) / 2 - c11
        c44_relaxed, c44_clamped = curvature(shear, relax=True), curvature(shear)
    assert rows["C11_GPa"] == pytest.approx(c11, rel=2e-3)
    assert rows["C12_GPa"] == pytest.approx(c12, rel=5e-3)
    assert rows["C44_GPa"] == pytest.approx(c44_relaxed, rel=5e-3)
    assert c44_clamped - c44_relaxed > 5.0  # the internal relaxation validate includes is not negligible


@pytest.mark.slow
def test_liquid_curves_compare_with_curves_given_as_files(tmp_path):
    liquid = {"temperature_K": 1600, "melt_temperature_K": 2500, "melt_ps": 1, "equilibrate_ps": 1,
              "production_ps": 2, "bond_cutoff_A": 3.3, "repeat": [3, 3, 3]}
    first = validate_job(load_config(ValidateConfig, _config(tmp_path / "a.yaml", properties={"liquid": liquid})))
    curve = first["curves"]["potential"]["liquid"]
    np.savetxt(tmp_path / "same.csv", np.column_stack([curve["r_A"], curve["g_total"]]), delimiter=",",
               header="r_A,g", comments="")
    np.savetxt(tmp_path / "flat.csv", np.column_stack([curve["r_A"], np.ones(len(curve["r_A"]))]), delimiter=",",
               header="r_A,g", comments="")
    np.savetxt(tmp_path / "adf.csv", np.column_stack([curve["angle_deg"], curve["adf_per_deg"]]), delimiter=",",
               header="angle_deg,P_per_deg", comments="")

    def difference(rdf_file, name):
        config = _config(tmp_path / f"{name}.yaml", output_dir=name, properties={"liquid": liquid},
                         reference={"curves": {"liquid_rdf": rdf_file, "liquid_adf": "adf.csv"}, "source": "test"},
                         tolerances={"liquid_rdf_abs_difference_A": 0.5})
        rows = {r["quantity"]: r for r in validate_job(load_config(ValidateConfig, config))["table"]}
        assert rows["liquid_adf_abs_difference"]["value"] == 0.0
        return rows["liquid_rdf_abs_difference_A"]

    assert difference("same.csv", "same")["value"] == 0.0  # the same seed: the same run
    flat = difference("flat.csv", "flat")  # an ideal gas's g(r) = 1 is far from a liquid's
    assert flat["value"] > 0.5 and flat["passed"] is False

    (tmp_path / "bad.csv").write_text("x,y\n1,2\n")
    config = _config(tmp_path / "bad.yaml", output_dir="bad", properties={"liquid": liquid},
                     reference={"curves": {"liquid_rdf": "bad.csv"}})
    result = run_cli("validate", str(config))
    assert result.returncode == 2 and "bad.csv" in result.stderr and "r_A" in result.stderr
