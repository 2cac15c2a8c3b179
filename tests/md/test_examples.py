"""The example protocols in inputs/ pass every check that runs before LAMMPS starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from simkit.config import load_config
from simkit.drivers.md.plan import build_plan
from simkit.drivers.md.protocol import MdProtocol

INPUTS = Path(__file__).resolve().parents[2] / "inputs"


@pytest.mark.parametrize("path", sorted(INPUTS.glob("md_*.yaml")), ids=lambda p: p.name)
def test_example_plans(path):
    protocol = load_config(MdProtocol, path)
    plan = build_plan(protocol, protocol.potential.build(), source=str(path))
    assert plan.segments and len(plan.atoms) > 0


def test_cycle_example_is_reset_set_reset():
    protocol = load_config(MdProtocol, INPUTS / "md_pcm_cycle.yaml")
    plan = build_plan(protocol, protocol.potential.build())
    pulses = [s for s in plan.segments if s.flux is not None]
    assert [s.label for s in pulses] == ["reset", "reset2"]
    assert all(s.flux.region == "heater" and s.flux.energy_eV > 0 for s in pulses)
    assert "set" in [s.label for s in plan.segments]
    assert {b.name for b in plan.blocks} == {"frozen", "heater", "cell"}
