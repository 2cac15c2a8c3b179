"""The extrapolation grade: simkit's active set and plugin against pyace's.

pyace's ASE calculator, given an active set (.asi), reports gamma per atom; the
plugin must agree to 1e-8 (relative to max(1, gamma)) serially and on two
ranks, on environments like the training data and far from it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simkit.ace import activeset
from simkit.errors import InputDataError
from simkit.lammps.session import LammpsSession
from tests.ace import gamma_helpers
from tests.conftest import BIN, run_cli, run_python_mpi


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A random ACE, its active set from simkit's maxvol, and the files for both sides."""
    directory = tmp_path_factory.mktemp("gamma")
    yace, yaml_path = gamma_helpers.model(directory)
    bbasis = activeset.load_bbasis(yaml_path)
    by_element = activeset.projections(bbasis, gamma_helpers.training())
    chosen = activeset.select_active_set(by_element, bbasis.elements_name)
    asi = activeset.write_asi(directory / "model.asi", chosen)
    plugin_file = activeset.write_plugin_file(directory / "model.activeset", bbasis, chosen)
    return {"yace": yace, "yaml": yaml_path, "asi": asi, "activeset": plugin_file, "bbasis": bbasis,
            "training": by_element, "chosen": chosen}


def pyace_gamma(yaml_path: Path, asi: Path, atoms) -> np.ndarray:
    from pyace import PyACECalculator

    calc = PyACECalculator(str(yaml_path))
    calc.set_active_set(str(asi))
    work = atoms.copy()
    work.calc = calc
    work.get_potential_energy()
    return np.array(calc.results["gamma"], dtype=float)


def assert_gamma_equal(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.shape == expected.shape
    assert np.all(np.abs(got - expected) <= 1e-8 * np.maximum(1.0, expected)), np.abs(got - expected).max()


def test_plugin_gamma_equals_pyace_on_near_and_far_environments(built):
    grades = {}
    for name, atoms in gamma_helpers.tests().items():
        expected = pyace_gamma(built["yaml"], built["asi"], atoms)
        got = gamma_helpers.plugin_gamma(built["yace"], built["activeset"], atoms)
        assert_gamma_equal(got, expected)
        grades[name] = expected.max()
    # the far cell is graded as extrapolation, the near one as (almost) interpolation
    assert grades["rattled"] < 2.0 < 10.0 < grades["distorted"], grades


@pytest.mark.mpi
def test_plugin_gamma_on_two_ranks_equals_pyace(built, tmp_path):
    out = tmp_path / "gamma.npz"
    worker = Path(__file__).with_name("gamma_worker.py")
    result = run_python_mpi(worker, 2, str(built["yace"]), str(built["activeset"]), str(out))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    mpi = np.load(out)
    assert int(mpi["size"]) == 2
    for name, atoms in gamma_helpers.tests().items():
        assert_gamma_equal(mpi[name], pyace_gamma(built["yaml"], built["asi"], atoms))


def test_chosen_set_interpolates_its_training_data(built):
    grades = activeset.extrapolation_grade(built["training"], built["chosen"])
    for element, values in grades.items():
        assert values.max() <= 1.001 + 1e-9, element


def test_maxvol_matches_pyace_selection(built):
    from pyace.activelearning import compute_active_set

    by_type = {t: built["training"][el] for t, el in enumerate(built["bbasis"].elements_name)}
    reference = compute_active_set(by_type, tol=1.001, max_iters=300)
    for t, element in enumerate(built["bbasis"].elements_name):
        theirs = float(np.linalg.slogdet(reference[t])[1])
        ours = built["chosen"].log_volume[element]
        # both are local maxima of log|det| from different starts: within 1 % of each other
        assert abs(ours - theirs) <= 0.01 * abs(theirs), (element, ours, theirs)
        # and grade a far environment alike (the same order of magnitude)
        far = activeset.projections(built["bbasis"], [gamma_helpers.tests()["distorted"]])[element]
        ratio = np.abs(far @ built["chosen"].inverse[element]).max() / np.abs(far @ np.linalg.inv(reference[t])).max()
        assert 0.5 < ratio < 2.0, (element, ratio)


def test_maxvol_increases_volume_from_its_start():
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(200, 12)) * np.geomspace(1, 1e-3, 12)
    rows, swaps = activeset.maxvol(matrix, tolerance=1.0001)
    coefficients = np.linalg.solve(matrix[rows].T, matrix.T).T
    assert np.abs(coefficients).max() <= 1.0001 + 1e-9
    # the optimum beats every random choice of rows
    best_random = max(np.linalg.slogdet(matrix[rng.choice(200, 12, replace=False)])[1] for _ in range(200))
    assert np.linalg.slogdet(matrix[rows])[1] > best_random


def test_too_few_environments_is_refused(built):
    few = {el: values[:5] for el, values in built["training"].items()}
    with pytest.raises(InputDataError, match="5 atomic environments .* 30 basis functions"):
        activeset.select_active_set(few, built["bbasis"].elements_name)


def test_cli_writes_both_files_and_reads_pace_activeset_output(built, tmp_path):
    from ase.io import write

    data = tmp_path / "train.extxyz"
    write(data, gamma_helpers.training())
    result = run_cli("ace", "activeset", str(built["yaml"]), "--structures", str(data),
                     "--output", str(tmp_path / "mine"))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary["elements"]) == {"Sb", "Te"}
    for element in summary["elements"].values():
        assert element["functions"] == 30 and element["max_gamma_of_structures"] <= 1.001 + 1e-9
    assert (tmp_path / "mine.asi").is_file() and (tmp_path / "mine.activeset").is_file()

    # pacemaker's own tool selects from the same data; its .asi becomes a plugin file
    import pandas as pd

    frames = gamma_helpers.training()  # the tool reads (but without -e does not use) energies and forces
    pd.DataFrame({"ase_atoms": frames, "energy": 0.0, "energy_corrected": 0.0,
                  "forces": [np.zeros((len(a), 3)) for a in frames]}).to_pickle(tmp_path / "train.pckl.gzip",
                                                                               compression="gzip")
    import shutil
    import subprocess

    shutil.copy(built["yaml"], tmp_path / "theirs.yaml")
    tool = subprocess.run([str(BIN / "pace_activeset"), "theirs.yaml", "-d", "train.pckl.gzip"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert tool.returncode == 0, tool.stdout[-2000:] + tool.stderr[-2000:]
    converted = run_cli("ace", "activeset", str(tmp_path / "theirs.yaml"), "--from-asi",
                        str(tmp_path / "theirs.asi"), "--structures", str(data))
    assert converted.returncode == 0, converted.stderr
    for element in json.loads(converted.stdout)["elements"].values():
        assert element["max_gamma_of_structures"] <= 1.01  # pace_activeset's own tolerance
    atoms = gamma_helpers.tests()["distorted"]
    assert_gamma_equal(gamma_helpers.plugin_gamma(built["yace"], tmp_path / "theirs.activeset", atoms),
                       pyace_gamma(tmp_path / "theirs.yaml", tmp_path / "theirs.asi", atoms))


@pytest.mark.parametrize("arguments, message", [
    (["model.yace", "--structures", "x"], "needs the B-basis potential"),
    (["missing.yaml", "--structures", "x"], "no such potential file"),
    (["model.yaml"], "give --structures"),
    (["model.yaml", "--structures", "train.extxyz", "--tolerance", "0.5"], "--tolerance: must be at least 1"),
    (["model.yaml", "--from-asi", "bad.asi"], "not an active-set"),
])
def test_cli_refuses_bad_input_in_one_line(built, tmp_path, arguments, message):
    from ase.io import write

    for name in ("yace", "yaml"):
        (tmp_path / f"model.{name}").write_bytes(built[name].read_bytes())
    write(tmp_path / "train.extxyz", gamma_helpers.training()[:2])
    (tmp_path / "bad.asi").write_text("not a zip")
    result = run_cli("ace", "activeset", *arguments, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("simkit-activeset-1", "other"), "expected simkit-activeset-1"),
    (lambda t: t.replace("# inverses\n", ""), "no '# inverses' line"),
    (lambda t: t.rsplit(" ", 1)[0], "the file ends"),
    (lambda t: t.rstrip("\n") + " 1.0\n", "unexpected text after"),
    (lambda t: t.replace("elements: [Sb, Te]", "elements: [Sb, Xe]"), "element Xe is not in the potential"),
    (lambda t: t.replace("ns: [1], ls: [0]", "ns: [99], ls: [0]", 1), "outside the potential's radial basis"),
    (lambda t: t.replace("gen_cgs: [1.0]", "gen_cgs: [nan]", 1), "expected a finite number"),
])
def test_plugin_refuses_a_bad_active_set_naming_file_and_key(built, tmp_path, edit, message):
    bad = tmp_path / "bad.activeset"
    bad.write_text(edit(built["activeset"].read_text()))
    from simkit.errors import LammpsError
    from simkit.lammps.potentials.ace import AcePotential

    with LammpsSession() as session:
        session.create_system(gamma_helpers.cell(), gamma_helpers.ELEMENTS)
        with pytest.raises(LammpsError) as error:
            session.set_potential(AcePotential(built["yace"], activeset=bad))
    assert "bad.activeset" in str(error.value) and message in str(error.value)
