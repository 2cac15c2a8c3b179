"""``simkit analyse`` refuses a broken H5MD trajectory in one line naming the file (and the frame).

The corpus (tests/fuzz/trajectory_corpus.py) breaks a small valid trajectory:
not HDF5, cut short, without the particles group or its datasets, datasets of
the wrong shape, atom counts that disagree, non-finite positions and cells in
one frame. Each case runs ``rdf`` (frame by frame) and ``msd`` (blocks of
atoms over all frames), the two ways analyses read a trajectory. Cases that
corrupt the bytes run in a child process: HDF5's C library reads them.
"""

from __future__ import annotations

import pytest

from tests.fuzz import trajectory_corpus
from tests.fuzz.harness import check, run_in_child, run_in_process

CASES = trajectory_corpus.cases()
ANALYSES = ("rdf", "msd")


def test_valid_trajectory_is_analysed(tmp_path):
    path = trajectory_corpus.write_valid(tmp_path / "traj.h5md")
    for analysis in ANALYSES:
        ended = run_in_process(["analyse", path, analysis, "--no-progress", "-o", tmp_path / analysis])
        assert ended.code == 0, ended.stderr


@pytest.mark.parametrize("analysis", ANALYSES)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_analyse_refuses_a_broken_trajectory(case, analysis, tmp_path):
    path = trajectory_corpus.write_valid(tmp_path / "traj.h5md")
    case.edit(path)
    argv = ["analyse", path, analysis, "--no-progress", "-o", tmp_path / "out"]
    ended = run_in_child(argv, cwd=tmp_path) if case.native else run_in_process(argv)
    frame = [] if case.frame is None else [f"frame {case.frame}"]
    check(f"trajectory/{analysis}", ended, "analyse", [path.name, *frame, *case.words])
