"""``simkit fit`` and ``simkit evaluate`` refuse a broken extended XYZ file in one line naming the file and frame.

The corpus (tests/fuzz/dataset_corpus.py) breaks one frame of a small valid
dataset: truncated, atom counts that do not match, non-numeric fields, missing
or non-finite energies and forces, forces of the wrong shape, unknown elements,
overlapping atoms, bytes that are not UTF-8. A case first goes through the
readers and checks the command runs before any work (simkit.datasets); when
they refuse it the command runs in this process. A file they accept would be a
finding: evaluate then runs in a child process (LAMMPS on the data), fit never
runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simkit.errors import InputDataError
from tests.fuzz import dataset_corpus
from tests.fuzz.harness import Verdict, check, record, run_in_child, run_in_process

CASES = dataset_corpus.cases()
POTENTIAL = "lammps:Si_Zuo_JPCA2020.snapcoeff"

FIT_CONFIG = """\
backend: snap
output_dir: out
seed: 1
elements: [Si]
data:
  train: {train}
  validation: {validation}
snap: {{twojmax: 2, rcutfac: 4.7}}
"""


def _names(case: dataset_corpus.Case, path: Path) -> list[str]:
    frame = [] if case.frame is None else [f"frame {case.frame}"]
    return [path.name, *frame, *case.words]


def _evaluate_gate(path: Path) -> None:
    from simkit.datasets.checks import check_frames
    from simkit.datasets.reader import read_dataset

    check_frames(read_dataset([path]), ("Si",), 0.5)


def test_valid_dataset_is_evaluated(tmp_path):
    data = tmp_path / "good.extxyz"
    data.write_text(dataset_corpus.valid_dataset())
    ended = run_in_process(["evaluate", "--potential", POTENTIAL, "--data", data, "--no-plot", "-o", tmp_path / "out"])
    assert ended.code == 0, ended.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_evaluate_refuses_bad_data(case, tmp_path):
    data = tmp_path / f"{case.id}.extxyz"
    data.write_bytes(case.content)
    argv = ["evaluate", "--potential", POTENTIAL, "--data", data, "--no-plot", "-o", tmp_path / "out"]
    try:
        _evaluate_gate(data)
    except InputDataError:
        ended = run_in_process(argv)
    else:  # the readers let it through: see what LAMMPS makes of it, out of harm's way
        ended = run_in_child(argv, cwd=tmp_path)
    check("dataset/evaluate", ended, "evaluate", _names(case, data))


def _fit_config(tmp_path: Path, train: str, validation: str) -> Path:
    config = tmp_path / "fit.yaml"
    config.write_text(FIT_CONFIG.format(train=train, validation=validation))
    return config


def _fit_gate(config: Path) -> None:
    from simkit.datasets.splits import prepare_data
    from simkit.fitting.registry import load_fit_config

    fit = load_fit_config(config)
    prepare_data(fit.data, fit.elements, fit.seed)  # what `simkit fit` does before any fit


def test_valid_dataset_passes_the_fit_checks(tmp_path):
    (tmp_path / "good.extxyz").write_text(dataset_corpus.valid_dataset())
    _fit_gate(_fit_config(tmp_path, "good.extxyz", "{kind: kfold, folds: 3}"))


def _fit_case(case, tmp_path, *, as_validation: bool):
    data = tmp_path / f"{case.id}.extxyz"
    data.write_bytes(case.content)
    if as_validation:
        (tmp_path / "good.extxyz").write_text(dataset_corpus.valid_dataset())
        config = _fit_config(tmp_path, "good.extxyz", f"{{kind: file, path: {data.name}}}")
    else:
        config = _fit_config(tmp_path, data.name, "{kind: kfold, folds: 3}")
    corpus = "dataset/fit-" + ("validation" if as_validation else "train")
    try:
        _fit_gate(config)
    except InputDataError:
        pass
    else:  # never fit: a file the checks accept is the finding
        record(corpus, Verdict("accepted by the checks"))
        pytest.fail(f"{case.id}: the fit's data checks accepted the broken file")
    check(corpus, run_in_process(["fit", config]), "fit", _names(case, data))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fit_refuses_bad_training_data(case, tmp_path):
    _fit_case(case, tmp_path, as_validation=False)


# The validation file goes through the same reader; a handful of cases show the path is wired.
VALIDATION_CASES = [c for c in CASES if c.id in ("truncated-inside-frame", "missing-forces", "nan-energy",
                                                 "element-not-in-model", "binary-garbage")]


@pytest.mark.parametrize("case", VALIDATION_CASES, ids=[c.id for c in VALIDATION_CASES])
def test_fit_refuses_bad_validation_data(case, tmp_path):
    # The good training frames are the valid dataset itself; break the validation copy only.
    _fit_case(case, tmp_path, as_validation=True)


def test_fit_refuses_a_frame_that_is_in_training_and_validation(tmp_path):
    text = dataset_corpus.valid_dataset()
    (tmp_path / "train.extxyz").write_text(text)
    frames = dataset_corpus._frames(text)
    (tmp_path / "validation.extxyz").write_bytes(dataset_corpus._join(frames[1:2]))
    config = _fit_config(tmp_path, "train.extxyz", "{kind: file, path: validation.extxyz}")
    with pytest.raises(InputDataError):
        _fit_gate(config)
    check("dataset/fit-train", run_in_process(["fit", config]), "fit",
          ["validation.extxyz frame 0", "train.extxyz frame 1", "duplicates"])
