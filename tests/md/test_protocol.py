"""Protocol schema and plan: units converted, bad protocols refused before LAMMPS starts, key named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simkit.config import load_config
from simkit.drivers.md.plan import build_plan
from simkit.drivers.md.protocol import MdProtocol
from simkit.errors import ConfigError
from tests.conftest import run_cli

BASE = {
    "output_dir": "out",
    "device": {
        "crystal": {"bulk": {"element": "Cu", "crystal": "fcc", "a_A": 3.615, "cubic": True}},
        "size_nm": [1.5, 1.5, 3.0], "frozen_slab_nm": 0.5, "heater_nm": 1.0,
    },
    "potential": {"kind": "eam/alloy", "file": "lammps:Cu_mishin1.eam.alloy"},
    "timestep_fs": 2.0,
    "crystallinity": {"cutoff_A": 3.05},
    "regions": [{"name": "top", "z_nm": [2.5, 2.8]}],
    "stages": [
        {"stage": "velocity", "temperature_K": 300},
        {"stage": "ramp", "start_K": 300, "end_K": 1500, "rate_K_per_s": 1.0e14},
        {"stage": "quench", "start_K": 1500, "end_K": 300, "duration_ns": 0.001},
        {"stage": "heat_pulse", "region": "heater", "energy_pJ": 1.0e-4, "duration_ps": 10},
        {"stage": "remove_heat", "region": "top", "energy_eV": 50, "duration_ps": 5},
        {"stage": "cool", "target_K": 300, "duration_ps": 40},
        {"stage": "anneal", "temperature_K": 600, "duration_ns": 0.02, "timestep_fs": 4.0},
        {"stage": "amorphise", "region": "top", "melt_K": 2500, "melt_ps": 2, "end_K": 300,
         "quench_rate_K_per_s": 1.0e14},
    ],
}


def _write(tmp_path: Path, data: dict, name: str = "protocol.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _edited(**edits) -> dict:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    for key, value in edits.items():
        target, *rest = key.split("__")
        if rest:
            data[target][int(rest[0])].update(value)
        else:
            data[target] = value
    return data


def _plan(tmp_path, data):
    path = _write(tmp_path, data)
    protocol = load_config(MdProtocol, path)
    return build_plan(protocol, protocol.potential.build(), source=str(path))


def test_units_become_steps(tmp_path):
    plan = _plan(tmp_path, BASE)
    steps = {s.label: s for s in plan.segments}
    # 1200 K at 1e14 K/s = 12 ps = 6000 steps of 2 fs; 1 ps quench = 500 steps; 20 ps at 4 fs = 5000 steps.
    assert steps["1-ramp"].steps == 6000 and steps["1-ramp"].thermostat.stop_K == 1500
    assert steps["2-quench"].steps == 500
    assert steps["6-anneal"].steps == 5000 and steps["6-anneal"].timestep_fs == 4.0
    pulse = steps["3-heat_pulse"].flux
    assert pulse.energy_eV == pytest.approx(624.150907, rel=1e-6)  # 1e-4 pJ
    assert pulse.duration_ps == pytest.approx(10.0)
    assert steps["4-remove_heat"].flux.energy_eV == -50
    melt, quench = steps["7-amorphise/melt"], steps["7-amorphise/quench"]
    assert melt.mobile_region == quench.mobile_region == "top"
    assert quench.steps == 11000  # 2200 K at 1e14 K/s = 22 ps
    assert len(plan.segments) == 9
    assert plan.region_atoms["heater"] > 0 and "frozen" in plan.region_atoms


@pytest.mark.parametrize(
    "edits, key, message",
    [
        ({"stages__1": {"stage": "teleport"}}, "stages[1]", "does not match any of the expected tags"),
        ({"stages__1": {"rate_K_per_s": -1.0e13}}, "stages[1].rate_K_per_s", "greater than 0"),
        ({"stages__2": {"end_K": 2000}}, "stages[2]", "a quench must cool"),
        ({"stages__3": {"energy_eV": 5.0}}, "stages[3]", "exactly one of energy_pJ or energy_eV"),
        ({"stages__5": {"duration_ns": 1.0}}, "stages[5]", "exactly one of duration_ps or duration_ns"),
        ({"stages__1": {"duration_ps": 3.0}}, "stages[1]", "exactly one of rate_K_per_s or duration_ps"),
        ({"regions": [{"name": "top", "z_nm": [2.8, 2.5]}]}, "regions[0]", "need 0 <= lower < upper"),
        ({"stages__1": {"pressure_bar": 0.0, "region": "top"}}, "stages[1]", "constant pressure needs"),
    ],
)
def test_schema_refuses_bad_stages(tmp_path, edits, key, message):
    with pytest.raises(ConfigError) as info:
        load_config(MdProtocol, _write(tmp_path, _edited(**edits)))
    assert f"key '{key}" in str(info.value) and message in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "edits, key, message",
    [
        ({"regions": [{"name": "top", "z_nm": [2.5, 9.0]}]}, "regions[0].z_nm", "outside the box"),
        ({"stages__3": {"region": "nowhere"}}, "stages[3].region", "no region of that name"),
        ({"stages__3": {"region": "frozen"}}, "stages[3].region", "a frozen region cannot be heated"),
        ({"regions": [{"name": "top", "z_nm": [2.5, 2.8]}, {"name": "gap", "x_nm": [0.0, 0.05]}],
          "stages__3": {"region": "gap"}}, "stages[3].region", "holds no dynamic atoms"),
        ({"crystallinity": {"cutoff_A": 7.5}}, "crystallinity.cutoff_A", "beyond the potential's cutoff"),
        ({"regions": [{"name": "heater", "z_nm": [0.1, 0.2]}]}, "regions[0].name", "already exists"),
    ],
)
def test_plan_refuses_what_the_structure_contradicts(tmp_path, edits, key, message):
    with pytest.raises(ConfigError) as info:
        _plan(tmp_path, _edited(**edits))
    text = str(info.value)
    assert text.startswith(str(tmp_path / "protocol.yaml")) and f"key '{key}'" in text and message in text, text


@pytest.mark.parametrize(
    "edits, key",
    [
        ({"stages__1": {"stage": "teleport"}}, "stages[1]"),
        ({"stages__1": {"rate_K_per_s": -1.0e13}}, "stages[1].rate_K_per_s"),
        ({"regions": [{"name": "top", "z_nm": [2.5, 9.0]}]}, "regions[0].z_nm"),
        ({"regions": [{"name": "top", "z_nm": [2.5, 2.8]}, {"name": "gap", "x_nm": [0.0, 0.05]}],
          "stages__3": {"region": "gap"}}, "stages[3].region"),
    ],
)
def test_cli_refuses_before_lammps_starts(tmp_path, edits, key):
    path = _write(tmp_path, _edited(**edits))
    result = run_cli("md", str(path))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"key '{key}" in lines[0], result.stderr
    assert not (tmp_path / "out").exists()  # nothing written, LAMMPS never started


def test_regions_need_an_axis_aligned_periodic_box(tmp_path):
    data = _edited(structure={"bulk": {"element": "Cu", "crystal": "fcc", "a_A": 3.615}, "repeat": [4, 4, 4]})
    del data["device"]
    data["stages"] = [{"stage": "nve", "duration_ps": 0.1}]
    with pytest.raises(ConfigError, match="regions need a periodic box with cell vectors along x, y, z"):
        _plan(tmp_path, data)
