"""SimkitCalculator: ASE's Calculator interface over a persistent LAMMPS session.

The reference for every number is a separate plain ``lammps.lammps()`` instance
fed by ASE's own LAMMPS data writer and rotated back with ASE's own ``Prism``,
so neither simkit's box rotation nor its pair-style rendering is trusted.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, fcc111
from ase.calculators.fd import calculate_numerical_stress
from ase.calculators.lammps import Prism
from ase.filters import FrechetCellFilter, UnitCellFilter
from ase.io import write
from ase.mep import NEB
from ase.optimize import BFGS, FIRE
from scipy.spatial.transform import Rotation
from threadpoolctl import threadpool_limits

from simkit.errors import InputDataError, LammpsError
from simkit.lammps.ase_calculator import SimkitCalculator
from simkit.lammps.install import lammps_module
from simkit.lammps.potentials import EamPotential, SnapPotential
from simkit.lammps.potentials.ace import AcePotential
from simkit.scoring.calculator import potential_calculator
from tests.ace import helpers as ace_helpers
from tests.ace.conftest import plugin_path  # noqa: F401 - the ACE tests' session fixture: one cached compile
from tests.conftest import run_python_mpi

_VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


# ----------------------------------------------------------------------------- structures and reference


def triclinic(atoms: Atoms, rng: np.random.Generator, strain: float = 0.04, rattle_A: float = 0.05) -> Atoms:
    """Strained, rattled and rotated copy: a cell that is neither cubic nor lower triangular."""
    out = atoms.copy()
    eps = rng.uniform(-strain, strain, (3, 3))
    out.set_cell(out.cell.array @ (np.eye(3) + 0.5 * (eps + eps.T)), scale_atoms=True)
    out.positions += rng.normal(0.0, rattle_A, out.positions.shape)
    rotation = Rotation.from_euler("xyz", rng.uniform(-0.6, 0.6, 3)).as_matrix()
    out.set_cell(out.cell.array @ rotation.T)
    out.positions = out.positions @ rotation.T
    assert abs(out.cell.array[0, 1]) > 0.1  # really not lower triangular
    return out


def plain_lammps(atoms: Atoms, elements, pair_lines, tmp_path, plugin=None) -> dict:
    """Energy, forces and Voigt stress (ASE frame and sign) of ``atoms`` from a bare LAMMPS run 0."""
    data = tmp_path / "reference.data"
    write(data, atoms, format="lammps-data", specorder=list(elements), masses=True, force_skew=True,
          write_image_flags=True, units="metal", atom_style="atomic")
    lmp = lammps_module().lammps(cmdargs=["-screen", "none", "-log", "none", "-nocite"])
    try:
        setup = [f"plugin load {plugin}"] if plugin else []
        boundary = " ".join("p" if p else "s" for p in atoms.pbc)
        for line in [*setup, "units metal", "atom_style atomic", "atom_modify map array", f"boundary {boundary}",
                     f"read_data {data}", *pair_lines, "thermo_style custom step pe vol pxx pyy pzz pyz pxz pxy",
                     "run 0"]:
            lmp.command(line)
        energy, volume_A3 = lmp.get_thermo("pe"), lmp.get_thermo("vol")
        # pressure in bar -> eV/Å^3 with LAMMPS's own factor (ASE's bar differs by 1e-7 relative)
        pressure = np.array([lmp.get_thermo(k) for k in ("pxx", "pyy", "pzz", "pyz", "pxz", "pxy")])
        stress_lammps = np.zeros((3, 3))
        for value, (i, j) in zip(-pressure / lmp.extract_global("nktv2p"), _VOIGT):
            stress_lammps[i, j] = stress_lammps[j, i] = value
        forces = np.ctypeslib.as_array(lmp.gather_atoms("f", 1, 3)).reshape(-1, 3).copy()
    finally:
        lmp.close()
    prism = Prism(atoms.cell.array)
    stress = prism.tensor2_to_ase(stress_lammps)
    voigt = np.array([stress[i, j] for i, j in _VOIGT])
    return {"energy": energy, "forces": prism.vector_to_ase(forces), "stress": voigt, "volume_A3": volume_A3}


def assert_same(got: dict, want: dict, rel: float = 1e-10) -> None:
    assert abs(got["energy"] - want["energy"]) <= rel * abs(want["energy"])
    assert np.abs(got["forces"] - want["forces"]).max() <= rel * np.abs(want["forces"]).max()
    assert np.abs(got["stress"] - want["stress"]).max() <= rel * np.abs(want["stress"]).max()


def results_of(atoms: Atoms, calc) -> dict:
    atoms.calc = calc
    return {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(), "stress": atoms.get_stress()}


# ----------------------------------------------------------------------------- potential kinds


def _cuni(d, rng, tmp_path, plugin):
    atoms = bulk("Cu", "fcc", 3.6, cubic=True).repeat(3)
    atoms.symbols[rng.random(len(atoms)) < 0.3] = "Ni"
    # the file lists Ni before Cu: type 1 is Ni, whatever order the atoms come in
    lines = ["pair_style eam/alloy", f"pair_coeff * * {d}/CuNi.eam.alloy Ni Cu"]
    return EamPotential(d / "CuNi.eam.alloy"), ("Ni", "Cu"), lines, atoms


def _snap_lines(d):
    return f"{d}/Si_Zuo_JPCA2020.snapcoeff {d}/Si_Zuo_JPCA2020.snapparam Si"


def _snap(d, rng, tmp_path, plugin):
    potential = SnapPotential(d / "Si_Zuo_JPCA2020.snapcoeff", d / "Si_Zuo_JPCA2020.snapparam")
    return potential, ("Si",), ["pair_style snap", f"pair_coeff * * {_snap_lines(d)}"], bulk("Si", cubic=True).repeat(2)


def _snap_zbl(d, rng, tmp_path, plugin):
    # through the config route: a potential spec with zbl builds the hybrid/overlay
    spec = {"kind": "snap", "coeff": "lammps:Si_Zuo_JPCA2020.snapcoeff", "param": "lammps:Si_Zuo_JPCA2020.snapparam",
            "zbl": {"inner_A": 1.5, "outer_A": 2.2}}
    atoms = ace_helpers.close_contact(bulk("Si", cubic=True).repeat(2), 1.8)  # inside ZBL's switching range
    lines = ["pair_style hybrid/overlay snap zbl 1.5 2.2", f"pair_coeff * * snap {_snap_lines(d)}",
             "pair_coeff 1 1 zbl 14 14"]
    return potential_calculator(spec).potential, ("Si",), lines, atoms


def _ace(d, rng, tmp_path, plugin):
    yace = ace_helpers.random_model(tmp_path / "si.yace", ("Si",), 20, [6, 3, 2], [0, 2, 1], seed=7)
    lines = ["pair_style pace", f"pair_coeff * * {yace} Si"]
    return AcePotential(yace), ("Si",), lines, bulk("Si", cubic=True).repeat(2)


KINDS = [
    pytest.param(_cuni, id="eam-alloy-CuNi"),
    pytest.param(_snap, id="snap-Si"),
    pytest.param(_snap_zbl, id="snap+zbl-Si"),
    # slow only when simkit's pace plugin is not compiled yet (cached after the first build)
    pytest.param(_ace, id="ace-plugin-Si", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("kind", KINDS)
def test_calculator_equals_plain_lammps_on_moved_and_strained_triclinic_cells(kind, lammps_potentials, rng, tmp_path,
                                                                               request):
    plugin = request.getfixturevalue("plugin_path") if kind is _ace else None
    potential, elements, lines, base = kind(lammps_potentials, rng, tmp_path, plugin)
    first = triclinic(base, rng)
    second = triclinic(base, rng, strain=0.06, rattle_A=0.08)  # same atoms: updated in place
    with SimkitCalculator(potential) as calc:
        for atoms in (first, second, first):
            assert_same(results_of(atoms, calc), plain_lammps(atoms, elements, lines, tmp_path, plugin))
        assert (calc.calls, calc.rebuilds) == (3, 1)


# ----------------------------------------------------------------------------- state between calls


@pytest.fixture
def cuni(lammps_potentials):
    return EamPotential(lammps_potentials / "CuNi.eam.alloy")


def test_repeated_calls_equal_a_fresh_calculator(cuni, rng):
    base = bulk("Cu", "fcc", 3.6, cubic=True).repeat(2)
    base.symbols[::3] = "Ni"
    far = triclinic(base, rng)
    far.positions[0] += 2.0 * far.cell[0] - 3.0 * far.cell[2]  # several periodic images away
    swapped = far.copy()
    swapped.symbols[[0, 1]] = swapped.symbols[[1, 0]]  # new species order: rebuild
    slab = far.copy()
    slab.pbc = (True, True, False)  # new periodicity: rebuild
    cubic = base.copy()
    cubic.positions += rng.normal(0.0, 0.05, cubic.positions.shape)
    # rebuilds: the first call; the first tilted cell (an orthogonal LAMMPS box becomes a prism); swapped; slab
    sequence = [cubic, triclinic(base, rng), far, triclinic(base, rng, strain=0.1), cubic.copy(), swapped, slab,
                slab.copy()]
    sequence[-1].positions += rng.normal(0.0, 0.05, sequence[-1].positions.shape)
    with SimkitCalculator(cuni) as calc:
        for atoms in sequence:
            got = results_of(atoms, calc)
            got["energies"] = atoms.get_potential_energies()
            with SimkitCalculator(cuni) as fresh:
                want = results_of(atoms.copy(), fresh)
            assert_same(got, want, rel=1e-12)
            assert got["energies"].sum() == pytest.approx(got["energy"], rel=1e-12)
        assert calc.rebuilds == 4


def test_ase_optimisers_and_neb_run(lammps_potentials, rng):
    # The optimisers' 3x3 and 100x100 linear algebra is slower on two OpenBLAS threads than on one
    # whenever the machine is busy (milliseconds per call instead of microseconds).
    with threadpool_limits(1):
        _relax_and_neb(EamPotential(lammps_potentials / "Cu_zhou.eam.alloy"), rng)


def _relax_and_neb(cu, rng):
    with SimkitCalculator(cu) as calc:
        atoms = triclinic(bulk("Cu", "fcc", 3.7, cubic=True).repeat(2), rng, strain=0.02)
        atoms.calc = calc
        start = atoms.get_potential_energy()
        assert BFGS(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-4, steps=300)
        assert atoms.get_potential_energy() < start
        assert np.abs(atoms.get_stress()).max() < 1e-5
        assert calc.rebuilds == 1 and calc.calls > 10
        atoms.rattle(0.05, seed=3)
        assert FIRE(UnitCellFilter(atoms), logfile=None).run(fmax=1e-3, steps=1000)

    # vacancy hop in fcc Cu, all images sharing one calculator (each call moves the system in place)
    initial = bulk("Cu", "fcc", 3.615, cubic=True).repeat(2)
    del initial[0]
    final = initial.copy()
    final.positions[0] = 0.0  # the neighbour hops into the vacancy
    with SimkitCalculator(cu) as calc:
        images = [initial] + [initial.copy() for _ in range(3)] + [final]
        for image in images:
            image.calc = calc
        neb = NEB(images, allow_shared_calculator=True, method="improvedtangent")
        neb.interpolate()
        assert BFGS(neb, logfile=None).run(fmax=0.05, steps=200)
        barrier = max(i.get_potential_energy() for i in images) - images[0].get_potential_energy()
        assert 0.3 < barrier < 1.2  # unrelaxed end points; EAM vacancy migration in Cu is 0.5-0.8 eV
        assert calc.rebuilds == 1


# ----------------------------------------------------------------------------- stress, small and open cells


@pytest.mark.parametrize("which", ["eam", "snap"])
def test_stress_is_the_strain_derivative_of_the_energy(which, cuni, si_snap, rng):
    base = bulk("Si", cubic=True).repeat(2) if which == "snap" else bulk("Ni", "fcc", 3.45, cubic=True).repeat(2)
    atoms = triclinic(base, rng, strain=0.05)
    with SimkitCalculator(si_snap if which == "snap" else cuni) as calc:
        atoms.calc = calc
        stress = atoms.get_stress()
        # ASE's own (1/V) dE/d(strain); a small step, as EAM's spline tables have kinks (one lies
        # within 1e-5 strain of this cell, where the difference quotient is off by 2e-4)
        numeric = calculate_numerical_stress(atoms, eps=1e-6)
    assert np.abs(stress - numeric).max() <= 1e-5 * np.abs(stress).max()
    # sign: a compressed cell pushes outwards, which ASE reports as negative (compressive) stress
    compressed = base.copy()
    compressed.set_cell(base.cell * 0.95, scale_atoms=True)
    with SimkitCalculator(si_snap if which == "snap" else cuni) as calc:
        compressed.calc = calc
        assert (compressed.get_stress()[:3] < 0).all()


def test_one_atom_bcc_cell_equals_a_large_supercell(lammps_potentials):
    fe = EamPotential(lammps_potentials / "Fe_mm.eam.fs", style="eam/fs")
    strain = np.eye(3) + np.array([[0.01, 0.02, 0.0], [0.02, -0.01, 0.01], [0.0, 0.01, 0.005]])
    primitive = bulk("Fe", "bcc", 2.87)  # 2.5 Å cell vectors against a 5.3 Å cutoff
    supercell = bulk("Fe", "bcc", 2.87, cubic=True).repeat(4)
    for atoms in (primitive, supercell):
        atoms.set_cell(atoms.cell.array @ strain, scale_atoms=True)
    with SimkitCalculator(fe) as calc:
        one = results_of(primitive, calc)
    with SimkitCalculator(fe) as calc:
        many = results_of(supercell, calc)
    assert len(primitive) == 1 and fe.cutoff_A > 2 * primitive.cell.lengths().max()
    assert one["energy"] == pytest.approx(many["energy"] / len(supercell), rel=1e-10)
    assert np.abs(one["stress"] - many["stress"]).max() <= 1e-9 * np.abs(many["stress"]).max()
    assert np.abs(one["forces"]).max() < 1e-12


def test_slab_and_cluster(lammps_potentials, rng, tmp_path):
    cu = EamPotential(lammps_potentials / "Cu_zhou.eam.alloy")
    lines = ["pair_style eam/alloy", f"pair_coeff * * {lammps_potentials}/Cu_zhou.eam.alloy Cu"]
    slab = fcc111("Cu", size=(3, 3, 4), vacuum=6.0)  # periodic in x, y; shrink-wrapped in z
    slab.positions += rng.normal(0.0, 0.05, slab.positions.shape)
    with SimkitCalculator(cu) as calc:
        got = results_of(slab, calc)
        want = plain_lammps(slab, ("Cu",), lines, tmp_path)
        # LAMMPS divides the virial by its shrink-wrapped box, the calculator by the ASE cell
        assert_same(got, {**want, "stress": want["stress"] * want["volume_A3"] / slab.get_volume()})
        # stress normalised by the ASE cell (vacuum included), which makes it the strain derivative
        numeric = calculate_numerical_stress(slab, eps=1e-6)
        assert np.abs(got["stress"] - numeric).max() <= 1e-5 * np.abs(got["stress"]).max()
    cluster = Atoms("Cu13", positions=bulk("Cu", "fcc", 3.6).repeat(3).positions[:13])  # no cell at all
    with SimkitCalculator(cu) as calc:
        cluster.calc = calc
        energy = cluster.get_potential_energy()
        assert np.abs(cluster.get_forces().sum(axis=0)).max() < 1e-10
        with pytest.raises(InputDataError, match="stress needs a cell of non-zero volume"):
            cluster.get_stress()
        cluster.positions += 10.0  # moving far keeps the energy (shrink-wrapped box follows)
        assert cluster.get_potential_energy() == pytest.approx(energy, abs=1e-10)


# ----------------------------------------------------------------------------- bad input and failures


def test_bad_input_gives_simkit_errors_and_leaves_the_calculator_usable(cuni, capfd):
    good = bulk("Cu", "fcc", 3.6, cubic=True)
    with SimkitCalculator(cuni) as calc:
        box = {"cell": [5, 5, 5], "pbc": True}
        cases = [(Atoms("CuFe", positions=[[0, 0, 0], [2, 0, 0]], **box), "element.s. Fe .* Ni, Cu"),
                 (Atoms(**box), "no atoms"),
                 (Atoms("Cu2", positions=[[0, 0, 0], [np.nan, 0, 0]], **box), "atom.s. 1 is not finite")]
        for bad, message in cases:
            with pytest.raises(InputDataError, match=message) as error:
                results_of(bad, calc)
            assert "eam/alloy CuNi.eam.alloy" in str(error.value)
            assert np.isfinite(results_of(good.copy(), calc)["energy"])
    assert "ERROR" not in capfd.readouterr().out


def test_lammps_failure_names_potential_and_call_then_recovers(lammps_potentials, tmp_path, capfd):
    copy = tmp_path / "Cu.eam.alloy"
    shutil.copy(lammps_potentials / "Cu_zhou.eam.alloy", copy)
    atoms = bulk("Cu", "fcc", 3.6, cubic=True)
    calc = SimkitCalculator(EamPotential(copy))
    expected = results_of(atoms, calc)["energy"]
    copy.rename(tmp_path / "moved")
    slab = atoms.copy()
    slab.pbc = (True, True, False)  # new periodicity: the file is read again
    with pytest.raises(LammpsError, match=r"SimkitCalculator\(eam/alloy Cu.eam.alloy\), call 2 .*pair_coeff") as error:
        results_of(slab, calc)
    assert not error.value.fatal and not calc.closed
    (tmp_path / "moved").rename(copy)
    assert results_of(atoms.copy(), calc)["energy"] == pytest.approx(expected, rel=1e-12)
    calc.close()
    with pytest.raises(RuntimeError, match="closed"):
        results_of(atoms.copy(), calc)
    assert "ERROR" not in capfd.readouterr().out


def test_potential_calculator_takes_specs_yaml_and_model_files(lammps_potentials, tmp_path):
    atoms = triclinic(bulk("Cu", "fcc", 3.6, cubic=True).repeat(2), np.random.default_rng(5))
    (tmp_path / "potential.yaml").write_text("kind: eam/alloy\nfile: lammps:Cu_zhou.eam.alloy\n")
    energies = []
    for source in ({"kind": "eam/alloy", "file": "lammps:Cu_zhou.eam.alloy"}, tmp_path / "potential.yaml",
                   "lammps:Cu_zhou.eam.alloy", EamPotential(lammps_potentials / "Cu_zhou.eam.alloy")):
        with potential_calculator(source) as calc:
            energies.append(results_of(atoms.copy(), calc)["energy"])
    assert np.ptp(energies) == 0.0


# ----------------------------------------------------------------------------- several ranks

MPI_SCRIPT = """
import sys
import numpy as np
from ase.io import read
from simkit.lammps.ase_calculator import SimkitCalculator
from simkit.lammps.potentials import EamPotential
from simkit.runtime.mpi import world
from simkit.runtime.paths import lammps_potentials_dir

comm = world()
out = []
with SimkitCalculator(EamPotential(lammps_potentials_dir() / "Cu_zhou.eam.alloy"), comm=comm) as calc:
    for atoms in read(sys.argv[1], index=":"):
        atoms.calc = calc
        out.append(np.concatenate([[atoms.get_potential_energy()], atoms.get_forces().ravel(), atoms.get_stress()]))
    assert calc.rebuilds == 1
if comm.Get_rank() == 0:
    np.save(sys.argv[2], np.array(out))
"""


@pytest.mark.mpi
def test_four_ranks_move_atoms_any_distance_in_place(lammps_potentials, rng, tmp_path):
    first = bulk("Cu", "fcc", 3.6, cubic=True).repeat((12, 1, 1))  # one slab per rank along x
    first.positions += rng.normal(0.0, 0.05, first.positions.shape)
    second = first.copy()
    half = len(second) // 2
    moved = second.positions
    # swap eight atoms with those half a box away: two ranks over, further than a run's exchange reaches
    moved[:8], moved[half:half + 8] = moved[half:half + 8].copy(), moved[:8].copy()
    sequence = [triclinic(first, rng), first, second]  # tilted first: a prism box serves all three in place
    write(tmp_path / "cells.traj", sequence)
    script = tmp_path / "worker.py"
    script.write_text(MPI_SCRIPT)
    done = run_python_mpi(script, 4, str(tmp_path / "cells.traj"), str(tmp_path / "out.npy"))
    assert done.returncode == 0, done.stderr[-3000:]
    cu = EamPotential(lammps_potentials / "Cu_zhou.eam.alloy")
    for atoms, row in zip(sequence, np.load(tmp_path / "out.npy")):
        with SimkitCalculator(cu) as calc:
            want = results_of(atoms, calc)
        assert_same({"energy": row[0], "forces": row[1:-6].reshape(-1, 3), "stress": row[-6:]}, want)
