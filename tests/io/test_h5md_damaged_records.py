"""``H5mdTrajectory.observables()`` and ``provenance()`` name a damaged group instead of a KeyError or a
JSON traceback (the demo's report and the pcm cycle reading read them)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from simkit.errors import InputDataError
from simkit.io import H5mdWriter
from simkit.io.h5md_layout import PROVENANCE, THERMO_SERIES, ObservableSpec
from simkit.io.h5md_reader import H5mdTrajectory


def _write(path):
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", 3.615, cubic=True)
    with H5mdWriter(path, observables=[ObservableSpec("temperature", "K")], provenance={"command": "test"}) as w:
        for k in range(3):
            w.append_atoms(atoms, step=10 * k, time_ps=0.01 * k)
            w.append_observables(step=10 * k, time_ps=0.01 * k, values={"temperature": 300.0 + k})
    return path


def test_sound_records_are_read(tmp_path):
    with H5mdTrajectory(_write(tmp_path / "t.h5md")) as traj:
        assert np.allclose(traj.observables()["temperature"]["value"], [300.0, 301.0, 302.0])
        assert traj.provenance()[0]["command"] == "test"


@pytest.mark.parametrize("missing", ["step", "time"])
def test_an_observable_without_its_clock_is_named(tmp_path, missing):
    path = _write(tmp_path / "t.h5md")
    with h5py.File(path, "r+") as f:
        del f[f"{THERMO_SERIES}/temperature/{missing}"]
    with H5mdTrajectory(path) as traj, pytest.raises(InputDataError, match="temperature.*damaged"):
        traj.observables()


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_provenance_that_is_not_a_json_object_is_named(tmp_path, text):
    path = _write(tmp_path / "t.h5md")
    with h5py.File(path, "r+") as f:
        f[f"{PROVENANCE}/run_0"].attrs["json"] = text
    with H5mdTrajectory(path) as traj, pytest.raises(InputDataError, match="run_0.*JSON"):
        traj.provenance()
