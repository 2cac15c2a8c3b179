"""Stage kinds on small systems (serial): amorphise, heat removal and cooling, and a SNAP device."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from ase.build import bulk
from ase.io import read

from simkit.io import open_trajectory
from tests.conftest import run_cli
from tests.md.protocols import CRYSTALLINITY, DEVICE, POTENTIAL, write_protocol


def _run(tmp_path, protocol):
    config = write_protocol(tmp_path / "protocol.yaml", protocol)
    result = run_cli("md", str(config))
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    return out, pd.read_csv(out / "thermo.csv"), json.loads((out / "run_summary.json").read_text())


def test_amorphise_melts_its_region_and_holds_everything_else(tmp_path):
    protocol = {
        "output_dir": str(tmp_path / "out"), "seed": 5, "device": DEVICE, "potential": POTENTIAL,
        "regions": [{"name": "barrier", "z_nm": [2.6, 3.6]}],
        "timestep_fs": 2.0, "thermo_every": 100, "trajectory_every": 500, "crystallinity": CRYSTALLINITY,
        # Neighbours held still fix the region's volume: it melts only far above Cu's 1330 K.
        "stages": [{"stage": "amorphise", "region": "barrier", "melt_K": 4500, "melt_ps": 3, "end_K": 300,
                    "quench_ps": 1}],
    }
    out, thermo, summary = _run(tmp_path, protocol)
    melt = thermo[thermo["stage"] == "0-amorphise/melt"]
    assert melt["barrier_crystalline_fraction"].min() < 0.3
    assert melt["barrier_temperature_K"].iloc[-1] > 3000
    assert thermo["barrier_temperature_K"].iloc[-1] < 900  # quenched
    with open_trajectory(out / "trajectory.h5md") as trajectory:
        start, end = trajectory.frame(0).positions_A, trajectory.frame(-1).positions_A
    z = start[:, 2]
    inside = (z >= 26.0) & (z <= 36.0)
    moved = np.abs(end - start).max(axis=1) > 0
    assert np.array_equal(moved, inside)  # exactly the region's atoms moved
    assert [s["label"] for s in summary["results"]["segments"]] == ["0-amorphise/melt", "0-amorphise/quench"]


def test_heat_removal_and_cooling(tmp_path):
    protocol = {
        "output_dir": str(tmp_path / "out"), "seed": 2, "device": DEVICE, "potential": POTENTIAL,
        "timestep_fs": 2.0, "thermo_every": 50,
        "stages": [
            {"stage": "velocity", "temperature_K": 1600},
            {"stage": "nve", "duration_ps": 0.2},
            {"stage": "remove_heat", "region": "cell", "energy_eV": 60, "duration_ps": 1},
            {"stage": "cool", "target_K": 300, "duration_ps": 2, "damping_fs": 50},
        ],
    }
    out, thermo, summary = _run(tmp_path, protocol)
    (sink,) = summary["results"]["heat"]
    assert sink["requested_eV"] == -60
    assert sink["ratio"] == pytest.approx(1.0, abs=0.01)
    assert thermo["temperature_K"].iloc[-1] == pytest.approx(300, abs=60)
    assert (out / "summary.png").is_file()


def test_snap_structure_with_user_regions(tmp_path, lammps_potentials):
    protocol = {
        "output_dir": str(tmp_path / "out"), "seed": 4,
        "structure": {"bulk": {"element": "Si", "crystal": "diamond", "a_A": 5.431, "cubic": True},
                      "repeat": [2, 2, 3]},
        "potential": {"kind": "snap", "coeff": "lammps:Si_Zuo_JPCA2020.snapcoeff",
                      "param": "lammps:Si_Zuo_JPCA2020.snapparam", "zbl": {"inner_A": 1.6, "outer_A": 2.1}},
        "regions": [{"name": "base", "z_nm": [0.0, 0.4], "frozen": True}, {"name": "hot", "z_nm": [0.6, 1.2]}],
        # Diamond: 4 nearest neighbours with equal q6 (even l is blind to the basis inversion).
        "crystallinity": {"cutoff_A": 2.8, "min_solid_bonds": 3},
        "timestep_fs": 1.0, "thermo_every": 25,
        "stages": [
            {"stage": "velocity", "temperature_K": 300},
            {"stage": "heat_pulse", "region": "hot", "energy_eV": 10, "duration_ps": 0.15},
            {"stage": "nve", "duration_ps": 0.05},
        ],
    }
    out, thermo, summary = _run(tmp_path, protocol)
    (pulse,) = summary["results"]["heat"]
    assert pulse["ratio"] == pytest.approx(1.0, abs=0.01)
    assert thermo["base_crystalline_fraction"].iloc[0] == 1.0
    assert thermo["hot_temperature_K"].iloc[-1] > thermo["hot_temperature_K"].iloc[0] + 300
    initial = bulk("Si", "diamond", a=5.431, cubic=True).repeat((2, 2, 3))
    final = read(out / "final.extxyz")
    frozen = initial.positions[:, 2] <= 4.0
    assert summary["results"]["frozen_atoms"] == frozen.sum() > 0
    shift = np.linalg.norm(final.positions - initial.positions, axis=1)
    assert shift[frozen].max() < 1e-6 and shift[~frozen].min() > 1e-4
