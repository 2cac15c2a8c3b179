"""rescale_volume, trajectory_species and the frame written when recording starts (small serial runs)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from ase.build import bulk

from simkit.config import load_config
from simkit.drivers.md.plan import build_plan
from simkit.drivers.md.protocol import MdProtocol
from simkit.drivers.md.runner import run_protocol
from simkit.errors import ConfigError
from simkit.io import open_trajectory

STRUCTURE = {"bulk": {"element": "CuNi", "crystal": "cesiumchloride", "a_A": 2.87, "cubic": True},
             "repeat": [3, 3, 3]}
POTENTIAL = {"kind": "eam/alloy", "file": "lammps:CuNi.eam.alloy"}


def _protocol(tmp_path, stages, **extra) -> tuple[MdProtocol, str]:
    data = {"output_dir": "out", "seed": 3, "structure": STRUCTURE, "potential": POTENTIAL, "timestep_fs": 2.0,
            "thermo_every": 10, "stages": stages, **extra}
    path = tmp_path / "protocol.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_config(MdProtocol, path), str(path)


def _plan(tmp_path, stages, **extra):
    protocol, source = _protocol(tmp_path, stages, **extra)
    return build_plan(protocol, protocol.potential.build(), source=source)


HOLD = {"stage": "anneal", "name": "hold", "temperature_K": 1500, "duration_ps": 0.4, "pressure_bar": 0.0}


@pytest.mark.parametrize(
    "stages, message",
    [
        ([{"stage": "velocity", "temperature_K": 1500}, {"stage": "rescale_volume", "average_of": "hold"}, HOLD],
         "no earlier stage of that name"),
        ([{"stage": "nvt", "name": "hold", "temperature_K": 1500, "duration_ps": 0.2},
          {"stage": "rescale_volume", "average_of": "hold"}], "does not run at constant pressure"),
        ([HOLD, {"stage": "rescale_volume", "average_of": "1-npt"}], "no earlier stage of that name"),
    ],
)
def test_rescale_needs_an_earlier_constant_pressure_stage(tmp_path, stages, message):
    with pytest.raises(ConfigError) as info:
        _plan(tmp_path, stages)
    index = next(i for i, s in enumerate(stages) if s["stage"] == "rescale_volume")
    assert f"key 'stages[{index}].average_of'" in str(info.value) and message in str(info.value), str(info.value)


def test_trajectory_species_absent_from_the_structure_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"key 'trajectory_species' = \['Li'\]: no atoms of \['Li'\]"):
        _plan(tmp_path, [HOLD], trajectory_species=["Li"])


def test_given_atoms_replace_the_structure(tmp_path):
    protocol, source = _protocol(tmp_path, [HOLD])
    atoms = bulk("Cu", "fcc", a=3.615, cubic=True).repeat((2, 2, 2))
    plan = build_plan(protocol, protocol.potential.build(), source=source, atoms=atoms)
    assert plan.atoms.get_chemical_formula() == "Cu32" and plan.atoms is not atoms


def test_rescale_to_the_mean_volume_with_frames_of_one_species(tmp_path):
    stages = [
        {"stage": "velocity", "temperature_K": 1500},
        HOLD,  # 200 steps, a thermo row every 10
        {"stage": "rescale_volume", "name": "rescale", "average_of": "hold", "last_fraction": 0.3},
        {"stage": "nvt", "name": "production", "temperature_K": 1500, "duration_ps": 0.2, "trajectory_every": 10},
    ]
    protocol, source = _protocol(tmp_path, stages, trajectory_species=["Ni"])
    summary = run_protocol(protocol, source=source)
    out = tmp_path / "out"
    thermo = pd.read_csv(out / "thermo.csv")
    hold = thermo[thermo["stage"] == "hold"]
    expected = hold[hold["step"] > 200 - 60]["volume_A3"]  # the last 30 % of 200 steps
    assert len(expected) == 6
    (rescale,) = [s for s in summary["results"]["segments"] if s["label"] == "rescale"]
    assert rescale["volume_A3"] == pytest.approx(expected.mean(), rel=1e-12) and rescale["rows_averaged"] == 6
    assert rescale["volume_before_A3"] == pytest.approx(hold["volume_A3"].iloc[-1], rel=1e-12)
    production = thermo[thermo["stage"] == "production"]
    np.testing.assert_allclose(production["volume_A3"], expected.mean(), rtol=1e-9)
    with open_trajectory(out / "trajectory.h5md") as trajectory:
        assert list(trajectory.steps) == list(range(200, 301, 10))  # from the first production step
        assert trajectory.natoms == 27 and set(trajectory.species) == {"Ni"}
        first = trajectory.frame(0)
        assert first.volume_A3 == pytest.approx(expected.mean(), rel=1e-9)
    state = json.loads((out / "checkpoints" / "state.json").read_text())
    assert state["finished"]


def test_a_frame_when_recording_starts(tmp_path):
    nvt = {"stage": "nvt", "temperature_K": 900, "duration_ps": 0.2}  # 100 steps
    stages = [
        {"stage": "velocity", "temperature_K": 900},
        {**nvt, "trajectory_every": 0},
        {**nvt, "trajectory_every": 20},
        {"stage": "nve", "duration_ps": 0.1, "trajectory_every": 0},
        {**nvt, "trajectory_every": 30},
    ]
    protocol, source = _protocol(tmp_path, stages)
    run_protocol(protocol, source=source)
    with open_trajectory(tmp_path / "out" / "trajectory.h5md") as trajectory:
        steps = list(trajectory.steps)
    assert steps == [100, 120, 140, 160, 180, 200, 250, 280, 310, 340]


def test_every_segment_recording_starts_before_the_first(tmp_path):
    protocol, source = _protocol(
        tmp_path, [{"stage": "velocity", "temperature_K": 900}, {"stage": "nve", "duration_ps": 0.1}],
        trajectory_every=25, record=["velocities"],
    )
    run_protocol(protocol, source=source)
    with open_trajectory(tmp_path / "out" / "trajectory.h5md") as trajectory:
        assert list(trajectory.steps) == [0, 25, 50]
        assert trajectory.natoms == 54
        # The first frame is the structure as built, before velocities are drawn.
        assert np.all(trajectory.frame(0).velocities_A_per_ps == 0)
