"""Broken potential files give LAMMPS errors that name the problem and the key.

Each case starts from a valid .yace and breaks one thing; the plugin must
refuse it through LAMMPS's error mechanism (surfaced by simkit as LammpsError)
rather than crash or run with a silently wrong potential.  The Python reader
used by `simkit ace check` must name the same key.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from simkit.ace.check import evaluate_lammps
from simkit.errors import InputDataError, LammpsError
from simkit.io.yace import load_yace
from tests.ace import helpers


@pytest.fixture(scope="module")
def good_yace(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad-yace") / "good.yace"
    return helpers.random_model(path, ("Si",), 20, [6, 3, 2], [0, 2, 1], seed=7)


@pytest.fixture(scope="module")
def si_atoms(good_yace):
    return helpers.check_structures(good_yace, ("Si",))["rattled bulk"]


def _bond_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith("[0, 0]:"))


def _replace_in_bond(text: str, pattern: str, replacement: str) -> str:
    line = _bond_line(text)
    changed, count = re.subn(pattern, replacement, line, count=1)
    assert count == 1, f"pattern {pattern!r} not in bond line"
    return text.replace(line, changed)


def _first_function_line(text: str) -> str:
    return next(line for line in text.splitlines() if "rank: 2" in line)


def _drop_one_ctilde(text: str) -> str:
    line = _first_function_line(text)
    changed = re.sub(r"ctildes: \[([^,\]]+), ", "ctildes: [", line, count=1)
    assert changed != line
    return text.replace(line, changed)


BROKEN = {
    # name: (mutation, words the LAMMPS error must contain, key the Python reader must name)
    "missing key": (lambda t: _replace_in_bond(t, r"\brcut: [^,}]+, ", ""), ["bonds.[0, 0].rcut", "missing"],
                    "bonds.[0, 0].rcut"),
    "unknown radial basis": (lambda t: _replace_in_bond(t, r"radbasename: \w+", "radbasename: Gaussian"),
                             ["radbasename", "unknown radial basis 'Gaussian'"], "radbasename"),
    "malformed number": (lambda t: _replace_in_bond(t, r"\brcut: [^,}]+", "rcut: 5.0x"),
                         ["bonds.[0, 0].rcut", "5.0x"], "bonds.[0, 0].rcut"),
    "unknown embedding": (lambda t: t.replace("npoti: FinnisSinclairShiftedScaled", "npoti: Quadratic", 1),
                          ["embeddings.0.npoti", "Quadratic"], "embeddings.0.npoti"),
    "wrong ctildes count": (_drop_one_ctilde, ["ctildes", "num_ms_combs*ndensity"], "ctildes"),
    "radial coefficient shape": (lambda t: _replace_in_bond(t, r"nradbasemax: \d+", "nradbasemax: 9"),
                                 ["radcoefficients", "expected shape"], "radcoefficients"),
    "unbalanced bracket": (lambda t: t.replace("elements: [Si]", "elements: [Si", 1), ["line"], None),
    "unknown inner cutoff": (lambda t: _replace_in_bond(t, r"inner_cutoff_type: \w+", "inner_cutoff_type: soft"),
                             ["inner_cutoff_type", "soft"], "inner_cutoff_type"),
    # 5e12 spline bins: the count used to overflow an int into a one-bin table (energies off by ~100 eV/atom)
    "tiny spline step": (lambda t: _set_delta_spline_bins(t, "1.0e-12"),
                         ["deltaSplineBins", "5e+12 spline bins", "at most 1e7"], "deltaSplineBins"),
    "non-finite spline step": (lambda t: _set_delta_spline_bins(t, ".nan"),
                               ["deltaSplineBins", "expected a finite number"], "deltaSplineBins"),
}


def _set_delta_spline_bins(text: str, value: str) -> str:
    changed, count = re.subn(r"deltaSplineBins: [^\s,}]+", f"deltaSplineBins: {value}", text, count=1)
    assert count == 1
    return changed


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_gives_named_lammps_error(case, good_yace, si_atoms, tmp_path):
    mutate, words, python_key = BROKEN[case]
    broken = tmp_path / "broken.yace"
    broken.write_text(mutate(good_yace.read_text()))
    with pytest.raises(LammpsError) as info:
        evaluate_lammps(broken, si_atoms, ["Si"])
    message = str(info.value)
    assert "pair_coeff" in (info.value.command or "")
    assert str(broken) in message
    for word in words:
        assert word in message, message
    if python_key is not None:
        with pytest.raises(InputDataError, match=re.escape(python_key)):
            load_yace(broken)


def test_element_not_in_file(good_yace, si_atoms):
    ge = si_atoms.copy()
    ge.set_chemical_symbols(["Ge"] * len(ge))
    with pytest.raises(LammpsError, match=r"element 'Ge' \(atom type 1\) is not in potential file .*it defines: Si"):
        evaluate_lammps(good_yace, ge, ["Ge"])


def test_missing_file(tmp_path, si_atoms):
    with pytest.raises(LammpsError, match="cannot open potential file"):
        evaluate_lammps(tmp_path / "nowhere.yace", si_atoms, ["Si"])


def test_good_file_still_loads(good_yace, si_atoms):
    result = evaluate_lammps(good_yace, si_atoms, ["Si"])
    assert abs(result.energy_eV) > 0


def test_wrong_number_of_elements_in_pair_coeff(good_yace, si_atoms):
    import simkit  # noqa: F401
    from simkit.lammps.pace_plugin import ensure_pace

    lmp = helpers.lammps_instance()
    try:
        helpers.setup_system(lmp, si_atoms, ["Si"])
        ensure_pace(lmp)
        lmp.command("pair_style pace")
        with pytest.raises(Exception, match="expects '\\* \\* <file.yace>' and 1 element names"):
            lmp.command(f"pair_coeff * * {good_yace} Si Si")
        with pytest.raises(Exception, match="unknown keyword 'fast'"):
            lmp.command("pair_style pace fast")
    finally:
        lmp.close()


# Evaluates a .yace with the plugin in a child process, so that a crash cannot take pytest down.
_EVALUATE = """
import sys
from ase.io import read
from simkit.ace.check import evaluate_lammps
from simkit.errors import LammpsError
try:
    evaluate_lammps(sys.argv[1], read(sys.argv[2]), ["Si"])
except LammpsError as exc:
    print(exc)
    sys.exit(3)
"""


@pytest.mark.parametrize("nesting", ["flow", "block"])
def test_deeply_nested_file_is_an_error_not_a_crash(nesting, good_yace, si_atoms, tmp_path):
    levels = 300_000
    deep = "[" * levels + "]" * levels if nesting == "flow" else "\n" + "- " * levels + "x"
    broken = tmp_path / "deep.yace"
    broken.write_text(good_yace.read_text() + f"extra: {deep}\n")
    structure = tmp_path / "si.extxyz"
    si_atoms.write(structure)
    result = subprocess.run([sys.executable, "-c", _EVALUATE, str(broken), str(structure)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 3, (result.returncode, result.stderr[-2000:])  # a LammpsError, not a signal
    assert str(broken) in result.stdout and "nested more than 64 levels deep" in result.stdout, result.stdout
