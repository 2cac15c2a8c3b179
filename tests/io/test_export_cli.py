"""`simkit export`: frame selection, refusals in one line, interrupted exports, and mpirun."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pytest

from simkit.cli.main import main
from simkit.io import H5mdWriter
from simkit.io.export import export_trajectory, parse_frames
from simkit.io.export_lammps import LammpsDumpFrameWriter
from tests.conftest import run_cli
from tests.io.test_export import parse_dump, write_trajectory

SENTINEL = "an earlier export, not to be touched\n"


@pytest.fixture(autouse=True)
def _restore_logging():
    """main() points simkit's logger at this test's captured stderr; later tests must not log into it."""
    logger = logging.getLogger("simkit")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.fixture
def trajectory(rng) -> Path:
    return write_trajectory("traj.h5md", rng, frames=5, natoms=12)


def _refused(capsys, argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return code, err


def test_cli_prints_one_line_per_output(trajectory, capsys):
    assert main(["export", str(trajectory), "-o", "out.dump", "--frames", "1::2"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("out.dump: 2 frames, 12 atoms,") and " bytes, " in line and line.endswith(" s (lammps-dump)")
    assert [s["step"] for s in parse_dump(Path("out.dump"))] == [100, 300]
    assert main(["export", str(trajectory), "-o", "last.xyz", "--frames=-1", "--format", "extxyz"]) == 0
    assert Path("last.xyz").read_text().splitlines()[1].split("Step=")[1].startswith("400 ")


@pytest.mark.parametrize("text, expected", [("3", 3), ("-1", -1), (":", slice(None)), ("1:4", slice(1, 4)),
                                            ("::2", slice(None, None, 2)), (" -3: ", slice(-3, None))])
def test_frames_take_python_slice_syntax(text, expected):
    assert parse_frames(text) == expected


def _source(kind: str, trajectory: Path) -> Path:
    """An input that is fine, missing, not HDF5, HDF5 without particles, or H5MD without image flags."""
    if kind == "missing":
        return Path("missing.h5md")
    if kind == "text":
        Path("bad.h5md").write_text("plain text, not HDF5\n")
        return Path("bad.h5md")
    if kind == "no-particles":
        with h5py.File("bad.h5md", "w") as f:
            f.create_group("h5md")
        return Path("bad.h5md")
    if kind == "no-images":
        with h5py.File(trajectory, "r+") as f:
            del f["particles/trajectory/image"]
    return trajectory


@pytest.mark.parametrize("kind, options, output, expected", [
    ("missing", [], "out.dump", "missing.h5md: trajectory file not found"),
    ("text", [], "out.dump", "bad.h5md: cannot open as HDF5"),
    ("no-particles", [], "out.dump", "bad.h5md: not an H5MD trajectory"),
    ("good", ["--frames", "1:2:3:4"], "out.dump", "--frames: '1:2:3:4' is not a frame index or a slice"),
    ("good", ["--frames", "a:b"], "out.dump", "--frames: 'a:b' is not a frame index"),
    ("good", ["--frames", "::0"], "out.dump", "--frames: '::0': the step of a slice cannot be 0"),
    ("good", ["--frames", "4:2"], "out.dump", "traj.h5md: the frame selection 4:2 (--frames) matches none of its 5"),
    ("good", ["--frames", "7"], "out.dump", "traj.h5md: the frame selection 7 (--frames) matches none of its 5"),
    ("no-images", ["--unwrapped"], "out.dump", "traj.h5md: unwrapped positions need periodic image flags"),
    ("good", ["--format", "pdb"], "out.dump", "out.dump: unknown export format 'pdb'"),
    ("good", ["--format", "extxyz"], "out.dump", "out.dump: the suffix .dump means lammps-dump, not the format "
     "extxyz"),
    ("good", [], "out.txt", "out.txt: cannot tell the format from the suffix '.txt'"),
])
def test_bad_input_is_refused_in_one_line_and_the_output_kept(trajectory, capsys, kind, options, output, expected):
    source = _source(kind, trajectory)
    Path(output).write_text(SENTINEL)
    code, err = _refused(capsys, ["export", str(source), "-o", output, "--overwrite", *options])
    assert code == 2 and err.startswith("simkit export: error: ") and expected in err, err
    assert Path(output).read_text() == SENTINEL
    assert not [p.name for p in Path.cwd().iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.parametrize("cell, pbc, expected", [
    ([[0, 5, 0], [5, 0, 0], [0, 0, 5]], (True, True, True), "is left-handed; LAMMPS boxes are right-handed"),
    ([[5, 0, 0], [0, 5, 0], [0, 0, 0]], (True, True, False), "has no volume (an open axis stored without extent?)"),
])
def test_a_cell_lammps_cannot_hold_is_refused_for_dumps_only(capsys, cell, pbc, expected):
    with H5mdWriter("odd.h5md") as writer:
        writer.append_frame(step=0, time_ps=0.0, positions_A=[[1.0, 2.0, 3.0]], cell_A=cell, symbols=["Cu"], pbc=pbc,
                            images=np.zeros((1, 3)))  # the writer cannot split images with a singular cell
    code, err = _refused(capsys, ["export", "odd.h5md", "-o", "out.dump"])
    assert code == 2 and f"odd.h5md: frame 0: the cell {np.array(cell, dtype=float).tolist()} {expected}" in err
    assert main(["export", "odd.h5md", "-o", "out.xyz"]) == 0


def test_extxyz_input_refuses_unwrapping(trajectory, capsys):
    export_trajectory(trajectory, "mid.extxyz")
    code, err = _refused(capsys, ["export", "mid.extxyz", "-o", "out.dump", "--unwrapped"])
    assert code == 2 and "mid.extxyz: the export (--unwrapped) needs unwrapped positions" in err
    assert not Path("out.dump").exists()


def test_an_existing_output_is_kept_without_overwrite(trajectory, capsys):
    Path("out.extxyz").write_text(SENTINEL)
    code, err = _refused(capsys, ["export", str(trajectory), "-o", "out.extxyz"])
    assert code == 2 and "out.extxyz: exists; pass overwrite (--overwrite)" in err
    assert Path("out.extxyz").read_text() == SENTINEL
    assert main(["export", str(trajectory), "-o", "out.extxyz", "--overwrite"]) == 0
    assert Path("out.extxyz").read_text() != SENTINEL


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_an_interrupted_export_leaves_no_file_under_the_final_name(trajectory, monkeypatch, capsys, error):
    calls = []
    original = LammpsDumpFrameWriter.write

    def write_then_fail(self, handle, frame):
        calls.append(frame.index)
        if len(calls) == 3:
            raise error
        original(self, handle, frame)

    monkeypatch.setattr(LammpsDumpFrameWriter, "write", write_then_fail)
    if isinstance(error, KeyboardInterrupt):
        assert main(["export", str(trajectory), "-o", "out.dump"]) == 130
        assert "simkit export: interrupted" in capsys.readouterr().err
    else:
        with pytest.raises(RuntimeError, match="disk on fire"):
            export_trajectory(trajectory, "out.dump")
    assert calls == [0, 1, 2]
    assert sorted(p.name for p in Path.cwd().iterdir()) == [trajectory.name]  # no output, no temporary file


@pytest.mark.mpi
def test_under_mpirun_rank_0_exports_and_a_failure_reaches_every_rank(trajectory):
    done = run_cli("export", str(trajectory), "-o", "out.extxyz", np_ranks=2, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().count("\n") == 0 and done.stdout.startswith("out.extxyz: 5 frames")
    failed = run_cli("export", "missing.h5md", "-o", "other.extxyz", np_ranks=2, timeout=120)
    assert failed.returncode != 0
    errors = [line for line in failed.stderr.splitlines() if line.startswith("simkit export")]
    assert errors == ["simkit export: error: missing.h5md: trajectory file not found"], failed.stderr
    assert not Path("other.extxyz").exists()
