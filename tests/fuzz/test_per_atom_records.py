"""A damaged per-atom record (e.g. the ``crystalline`` flags ``simkit md`` records) is refused in one line
naming the file and the record when it is read (``simkit export`` reads every record), while analyses of the
positions (``simkit analyse rdf``) still run on the same file."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from tests.fuzz.harness import check, run_in_process

FRAMES = 4
P = "particles/trajectory"
RECORD = f"{P}/crystalline/value"


def _write(path):
    from ase.build import bulk

    from simkit.io import H5mdWriter
    from simkit.io.h5md_layout import PerAtomSpec

    atoms = bulk("Cu", "fcc", 3.615, cubic=True).repeat((2, 2, 2))
    rng = np.random.default_rng(7)
    with H5mdWriter(path, per_atom=[PerAtomSpec("crystalline")]) as writer:
        for k in range(FRAMES):
            writer.append_atoms(atoms, step=10 * k, time_ps=0.01 * k,
                                per_atom={"crystalline": (rng.random(len(atoms)) > 0.5).astype(float)})
    return path


def _replace(make):
    def edit(path):
        with h5py.File(path, "r+") as f:
            old = f[RECORD][...]
            del f[RECORD]
            if make(old) is not None:
                f.create_dataset(RECORD, data=make(old))
            else:
                f.create_group(RECORD)
    return edit


CASES = {
    "fewer-atoms": _replace(lambda v: v[:, :-3]),
    "fewer-frames": _replace(lambda v: v[:2]),
    "scalar": _replace(lambda v: np.float64(1.0)),
    "one-dimensional": _replace(lambda v: v[0]),
    "value-is-a-group": _replace(lambda v: None),
}


def test_a_sound_record_is_exported(tmp_path):
    path = _write(tmp_path / "traj.h5md")
    ended = run_in_process(["export", path, "-o", tmp_path / "out.extxyz"])
    assert ended.code == 0, ended.stderr
    assert "crystalline" in (tmp_path / "out.extxyz").read_text().splitlines()[1]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_per_atom_record_is_named_and_the_positions_stay_readable(case, tmp_path):
    path = _write(tmp_path / "traj.h5md")
    CASES[case](path)
    ended = run_in_process(["export", path, "-o", tmp_path / "out.extxyz"])
    check("trajectory/per-atom-export", ended, "export", [path.name, "crystalline"])
    assert not (tmp_path / "out.extxyz").exists()
    analysed = run_in_process(["analyse", path, "rdf", "--no-progress", "-o", tmp_path / "rdf"])
    assert analysed.code == 0, analysed.stderr
