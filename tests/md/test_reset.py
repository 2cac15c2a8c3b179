"""A device RESET under mpirun -np 2: the heater melts, the frozen slab stays crystalline, the energy adds up."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simkit.io import open_trajectory
from tests.conftest import run_cli
from tests.md.protocols import DEVICE, reset_protocol, write_protocol


@pytest.mark.mpi
def test_reset_melts_heater_and_keeps_frozen_slab(tmp_path):
    out = tmp_path / "reset"
    # 6 x 6 x 14 FCC cells: 2016 atoms, 576 of them in the heater: ~1.2 eV per heater atom.
    protocol = reset_protocol(out, device=DEVICE | {"size_nm": [2.2, 2.2, 5.0], "heater_nm": 1.5})
    protocol["stages"][2]["energy_eV"] = 700
    config = write_protocol(tmp_path / "reset.yaml", protocol)
    result = run_cli("md", str(config), np_ranks=2)
    assert result.returncode == 0, result.stderr

    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["status"] == "finished" and summary["mpi"]["ranks"] == 2
    (pulse,) = summary["results"]["heat"]
    assert pulse["requested_eV"] == 700
    assert pulse["ratio"] == pytest.approx(1.0, abs=0.01) and pulse["within_tolerance"]
    # 0.6 nm rounds to the gap after three (002) planes of 72 atoms each.
    assert summary["results"]["frozen_atoms"] == 216
    assert summary["results"]["regions"]["frozen"]["dynamic_atoms_at_start"] == 0
    assert summary["results"]["regions"]["heater"]["dynamic_atoms_at_start"] == 576

    thermo = pd.read_csv(out / "thermo.csv")
    before, after = thermo.iloc[0], thermo.iloc[-1]
    assert before["heater_crystalline_fraction"] == 1.0
    assert after["heater_crystalline_fraction"] < 0.3  # melted
    assert thermo["frozen_crystalline_fraction"].min() > 0.95  # the slab never melts
    assert after["heater_temperature_K"] > 1500 and before["heater_temperature_K"] < 600
    # During the pulse the total energy rises at the requested rate (eV per ps).
    during = thermo[thermo["stage"] == "reset"]
    slope = np.polyfit(during["time_ps"], during["total_energy_eV"], 1)[0]
    assert slope == pytest.approx(700 / 3, rel=0.02)

    profiles = pd.read_csv(out / "profiles.csv")
    last = profiles[profiles["step"] == profiles["step"].max()].sort_values("z_A")
    assert last["atoms"].sum() == 2016
    assert last["crystalline_fraction"].iloc[0] == 1.0  # bottom bin = frozen slab
    assert last["temperature_K"].iloc[0] == 0.0  # frozen atoms carry no kinetic energy

    with open_trajectory(out / "trajectory.h5md") as trajectory:
        assert list(trajectory.steps) == list(range(0, 2251, 250))
        assert trajectory.frame(0).per_atom["crystalline"].mean() == 1.0
        observables = trajectory.observables()
        assert np.allclose(observables["heater_crystalline_fraction"]["value"], thermo["heater_crystalline_fraction"])
    assert (out / "summary.png").stat().st_size > 10_000
