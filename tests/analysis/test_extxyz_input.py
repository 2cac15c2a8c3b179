"""`simkit analyse` on extended XYZ: the same numbers as on H5MD, and one-line refusals naming file and frame."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.io import write

from simkit.cli.main import main
from simkit.errors import InputDataError
from simkit.io import ExtxyzTrajectory, H5mdTrajectory, H5mdWriter, open_trajectory
from tests.fuzz import dataset_corpus

A_FE = 2.8665
FRAMES = 6


def damage_run(rng) -> list[Atoms]:
    """bcc Fe 4x4x4 (128 atoms) with thermal noise; from frame 2 on, atom 0 sits on an octahedral site (a Frenkel pair).

    Positions are wrapped and rounded to 1e-8 Å, what ASE's extxyz writer prints, so both files hold the same numbers.
    """
    perfect = bulk("Fe", "bcc", a=A_FE, cubic=True).repeat(4)
    images = []
    for k in range(FRAMES):
        atoms = perfect.copy()
        atoms.positions += rng.normal(0.0, 0.03, atoms.positions.shape)
        if k >= 2:
            atoms.positions[0] = A_FE * np.array([2.5, 2.5, 2.0])
        atoms.wrap()
        atoms.positions = np.round(atoms.positions, 8)
        atoms.info.update(step=10 * k, time_ps=0.5 * k)
        images.append(atoms)
    return images


def write_h5md(path: Path, images: list[Atoms]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with H5mdWriter(path) as writer:
        for atoms in images:
            writer.append_frame(step=atoms.info["step"], time_ps=atoms.info["time_ps"], positions_A=atoms.positions,
                                cell_A=np.array(atoms.cell), symbols=atoms.get_chemical_symbols())
    return path


def write_extxyz(path: Path, images: list[Atoms]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write(path, images, format="extxyz")
    return path


@pytest.fixture
def both(tmp_path, rng) -> tuple[Path, Path]:
    images = damage_run(rng)
    return write_h5md(tmp_path / "h5" / "damage.h5md", images), write_extxyz(tmp_path / "xyz" / "damage.extxyz", images)


def table(path: Path) -> dict[str, np.ndarray]:
    with path.open() as handle:
        rows = list(csv.reader(handle))
    return {name: np.array([float(row[k]) for row in rows[1:]]) for k, name in enumerate(rows[0])}


def one_line_refusal(capsys, *argv) -> str:
    code = main(["analyse", *map(str, argv), "--no-progress"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and len(error.splitlines()) == 1, error
    assert error.startswith("simkit analyse: error:"), error
    return error


# -- the reader ---------------------------------------------------------------------------------

def test_both_readers_give_the_same_frames(both):
    h5md, extxyz = both
    with open_trajectory(h5md) as ours, open_trajectory(extxyz) as theirs:
        assert isinstance(ours, H5mdTrajectory) and isinstance(theirs, ExtxyzTrajectory)
        assert len(theirs) == len(ours) == FRAMES and theirs.natoms == ours.natoms == 128
        assert (theirs.numbers == ours.numbers).all() and theirs.species == ("Fe",)
        assert (theirs.steps == ours.steps).all() and (theirs.times_ps == ours.times_ps).all()
        assert (theirs.select(0.9, 2.1) == ours.select(0.9, 2.1)).all()
        for a, b in zip(ours.frames(indices=[0, 3, 5]), theirs.frames(indices=[0, 3, 5])):
            assert (a.index, a.step, a.time_ps, a.pbc) == (b.index, b.step, b.time_ps, b.pbc)
            assert np.array_equal(a.positions_A, b.positions_A) and np.array_equal(a.cell_A, b.cell_A)
        assert theirs[-1].index == FRAMES - 1 and [f.index for f in theirs[1::2]] == [1, 3, 5]


def test_frames_are_parsed_on_demand(both):
    """The reader keeps offsets, not frames: reading one frame parses only that frame's bytes."""
    _, extxyz = both
    with ExtxyzTrajectory(extxyz) as trajectory:
        assert len(trajectory._offsets) == FRAMES + 1 and trajectory._offsets[-1] == extxyz.stat().st_size
        assert not any(isinstance(value, np.ndarray) and value.size >= trajectory.natoms * 3
                       for value in vars(trajectory).values())


@pytest.mark.parametrize("info, times_ps", [
    ({"time_fs": 250.0}, 0.25),
    ({"time": 2.0, "time_unit": "ns"}, 2000.0),
    ({"Time": 3.0}, np.nan),  # no unit: not guessed
    ({"timestep": 7}, np.nan),
])
def test_time_rules(tmp_path, info, times_ps):
    atoms = bulk("Fe", "bcc", a=A_FE, cubic=True)
    atoms.info.update(info)
    with ExtxyzTrajectory(write_extxyz(tmp_path / "t.xyz", [atoms])) as trajectory:
        np.testing.assert_equal(trajectory.times_ps, [times_ps])
        assert trajectory.steps.tolist() == [info.get("timestep", 0)]


# -- simkit analyse on both formats -------------------------------------------------------------

@pytest.mark.parametrize("name", ["defects", "rdf"])
def test_analyse_gives_the_same_numbers_on_both_formats(both, name):
    for path in both:
        assert main(["analyse", str(path), name, "--no-progress"]) == 0
    # the default output directory, analysis/<name>/ beside each file
    ours, theirs = (table(path.parent / "analysis" / name / f"{name}.csv") for path in both)
    assert list(theirs) == list(ours)
    for column in ours:
        np.testing.assert_allclose(theirs[column], ours[column], rtol=0, atol=1e-9, err_msg=column)
    if name == "defects":
        assert ours["frenkel_pairs"].tolist() == [0, 0, 1, 1, 1, 1]


def test_a_frame_selection_is_the_same_on_both_formats(both):
    selection = ["--start", "1", "--stop", "6", "--stride", "2"]
    for path, out in zip(both, ("h5", "xyz")):
        assert main(["analyse", str(path), "defects", "--no-progress", "-o", out, *selection]) == 0
    ours, theirs = table(Path("h5/defects.csv")), table(Path("xyz/defects.csv"))
    assert ours["step"].tolist() == theirs["step"].tolist() == [10, 30, 50]
    for column in ours:
        np.testing.assert_allclose(theirs[column], ours[column], rtol=0, atol=1e-9, err_msg=column)


def test_msd_on_extended_xyz_is_refused_in_one_line(both, capsys):
    error = one_line_refusal(capsys, both[1], "msd")
    assert "damage.extxyz: msd needs unwrapped positions" in error and "no periodic image flags" in error


def test_a_time_window_without_times_is_refused(tmp_path, rng, capsys):
    images = damage_run(rng)[:2]
    for atoms in images:
        del atoms.info["time_ps"]
    path = write_extxyz(tmp_path / "untimed.xyz", images)
    error = one_line_refusal(capsys, path, "rdf", "--start-ps", "1")
    assert "untimed.xyz: frames carry no time" in error
    assert main(["analyse", str(path), "defects", "--no-progress"]) == 0  # figures fall back to steps


# -- damaged files ------------------------------------------------------------------------------

def _replace_line(path: Path, line: int, text: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    lines[line] = text
    path.write_text("".join(lines))


def _damage(kind: str, path: Path, images: list[Atoms]) -> None:
    """Write ``images`` to ``path`` broken in frame 3 (each frame takes 130 lines: count, comment, 128 atoms)."""
    if kind == "fewer_atoms":
        del images[3][5]
    elif kind == "other_species":
        images[3].symbols[5] = "Cr"
    elif kind == "nan_position":
        images[3].positions[5] = np.nan
    write_extxyz(path, images[:4])
    if kind == "truncated":
        path.write_text("".join(path.read_text().splitlines(keepends=True)[:3 * 130 + 60]))
    elif kind == "cut_mid_line":
        path.write_text(path.read_text()[:-30])
    elif kind == "garbled":
        _replace_line(path, 3 * 130 + 9, "Fe 1.0 two 3.0\n")


@pytest.mark.parametrize("kind, words", [
    ("truncated", ["frame 3 (line 391): truncated: 58 of 128 atom lines"]),
    ("cut_mid_line", ["frame 3: the last line has no line end"]),
    ("garbled", ["frame 3 (line 391): cannot parse"]),
    ("fewer_atoms", ["frame 3 (line 391): 127 atoms, frame 0 has 128"]),
    ("other_species", ["frame 3: atom 5 is Cr, Fe in frame 0"]),
    ("nan_position", ["frame 3: non-finite atom positions"]),
])
def test_a_damaged_file_is_refused_naming_file_and_frame(tmp_path, rng, capsys, kind, words):
    path = tmp_path / "broken.extxyz"
    _damage(kind, path, damage_run(rng))
    error = one_line_refusal(capsys, path, "defects")
    assert all(f"broken.extxyz: {word}" in error for word in words), error


def test_a_file_that_is_not_extended_xyz_is_refused(both, capsys):
    h5md, _ = both
    fake = Path("renamed.xyz")
    fake.write_bytes(h5md.read_bytes())
    error = one_line_refusal(capsys, fake, "rdf")
    assert "renamed.xyz: frame 0 (line 1): expected an atom count" in error
    Path("empty.xyz").write_text("\n")
    with pytest.raises(InputDataError, match="empty.xyz: no frames"):
        ExtxyzTrajectory("empty.xyz")


# Broken datasets of the fuzz corpus that are still good trajectories: labels (energy, forces) and geometry checks
# are a fit's business; analyses read positions, species and cells only.
_LABEL_CASES = {"energy-not-a-number", "missing-energy", "missing-forces", "nan-energy", "inf-energy", "nan-force",
                "forces-wrong-shape", "overlapping-atoms"}


@pytest.mark.parametrize("case", dataset_corpus.cases(), ids=lambda case: case.id)
def test_the_broken_dataset_corpus_is_read_or_refused_naming_the_frame(case):
    path = Path(f"{case.id}.xyz")
    path.write_bytes(case.content)
    if case.id in _LABEL_CASES:
        with ExtxyzTrajectory(path) as trajectory:
            assert sum(1 for _ in trajectory.frames()) == dataset_corpus.FRAMES
        return
    with pytest.raises(InputDataError) as refused:
        with ExtxyzTrajectory(path) as trajectory:
            for _ in trajectory.frames():
                pass
    message = str(refused.value)
    assert message.startswith(f"{path}: ") and len(message.splitlines()) == 1, message
    # A short atom count is caught at the short frame itself (a dataset reader notices only at the next one).
    frame = dataset_corpus.BROKEN_FRAME if case.id == "atom-count-too-small" else case.frame
    if frame is not None:
        assert f"frame {frame}" in message, message
