"""A broken potential file ends ``simkit evaluate`` and ``simkit ace check`` in one line naming the file.

The corpus (tests/fuzz/potential_corpus.py) breaks SNAP coeff/param pairs, setfl
EAM files, .yace files (the breakages of tests/ace/test_bad_yace.py and
whole-file ones) and potential YAML specs. A case first goes through the
Python reader that the command builds the potential with; when it refuses the
file, the command runs in this process. A file the reader accepts is handed to
LAMMPS, so the command then runs in a child process, where a crash in native
code is contained and reported.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simkit.errors import SimkitError
from tests.ace import helpers
from tests.fuzz import dataset_corpus, potential_corpus
from tests.fuzz.harness import check, run_in_child, run_in_process

POTENTIALS = helpers.potentials_dir()
DATA = {"snap": ("Si", "diamond", 5.431), "yace": ("Si", "diamond", 5.431), "eam/alloy": ("Cu", "fcc", 3.615),
        "eam/fs": ("Cu", "fcc", 3.615), "yaml": ("Cu", "fcc", 3.615)}


@pytest.fixture(scope="module")
def good_yace(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz-yace") / "good.yace"
    return helpers.random_model(path, ("Si",), 20, [6, 3, 2], [0, 2, 1], seed=7)


CASES = (potential_corpus.snap_cases(POTENTIALS) + potential_corpus.eam_cases(POTENTIALS)
         + potential_corpus.yaml_cases())
YACE_IDS = potential_corpus.yace_case_ids()  # the cases themselves need the model, a fixture


def _write(case: potential_corpus.Case, folder: Path) -> Path:
    for name, content in case.files.items():
        (folder / name).write_bytes(content)
    data = folder / "data.extxyz"
    data.write_text(dataset_corpus.valid_dataset(*DATA[case.kind]))
    return data


def _evaluate(case: potential_corpus.Case, folder: Path, corpus: str) -> None:
    from simkit.scoring.potential_files import load_potential

    data = _write(case, folder)
    argv = ["evaluate", "--potential", folder / case.potential, "--data", data, "--no-plot", "-o", folder / "out"]
    try:
        load_potential(folder / case.potential)
    except SimkitError:
        ended = run_in_process(argv)
    else:  # LAMMPS reads it: contain whatever happens there
        ended = run_in_child(argv, cwd=folder)
    check(corpus, ended, "evaluate", [case.broken, *case.words])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_evaluate_refuses_a_broken_potential(case, tmp_path):
    _evaluate(case, tmp_path, f"potential/{case.kind.split('/')[0]}")


def _yace_case(case_id: str, good: Path) -> potential_corpus.Case:
    return next(c for c in potential_corpus.yace_cases(good) if c.id == case_id)


@pytest.mark.parametrize("case_id", YACE_IDS)
def test_evaluate_refuses_a_broken_yace(case_id, good_yace, tmp_path):
    _evaluate(_yace_case(case_id, good_yace), tmp_path, "potential/yace-evaluate")


@pytest.mark.parametrize("case_id", YACE_IDS)
def test_ace_check_refuses_a_broken_yace(case_id, good_yace, tmp_path):
    from simkit.io.yace import load_yace

    case = _yace_case(case_id, good_yace)
    path = tmp_path / case.potential
    path.write_bytes(case.files[case.potential])
    try:
        load_yace(path)
    except SimkitError:
        ended = run_in_process(["ace", "check", path])
    else:
        ended = run_in_child(["ace", "check", path], cwd=tmp_path)
    check("potential/yace-ace-check", ended, "ace", [case.broken, *case.words])


def test_shipped_potentials_pass_the_readers():
    # The checks that refuse the cases above must not refuse a file LAMMPS reads.
    from simkit.lammps.potentials.eam import check_setfl
    from simkit.lammps.potentials.snap import read_snap

    for coeff in sorted(POTENTIALS.glob("*.snapcoeff")):
        read_snap(coeff, coeff.with_suffix(".snapparam"))
    for setfl in sorted([*POTENTIALS.glob("*.eam.alloy"), *POTENTIALS.glob("*.eam.fs")]):
        check_setfl(setfl, "eam/fs" if setfl.name.endswith(".fs") else "eam/alloy")
