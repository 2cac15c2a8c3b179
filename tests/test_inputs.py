"""Every example config in inputs/ validates against the schema of its command."""

from __future__ import annotations

from pathlib import Path

import pytest

from simkit.bench.predict import PredictConfig
from simkit.bench.scaling import ScalingConfig
from simkit.config import load_config
from simkit.demo.config import DemoConfig
from simkit.diffusion.config import DiffusionConfig
from simkit.distil.config import DistilConfig
from simkit.drivers.md.protocol import MdProtocol
from simkit.fitting.registry import FitConfig
from simkit.learn.config import LearnConfig
from simkit.optimise.config import OptimiseConfig
from simkit.radiation.config import CascadeConfig, TdeConfig
from simkit.screening.config import SpeedConfig, SurviveConfig
from simkit.validation.config import ValidateConfig

INPUTS = Path(__file__).resolve().parents[1] / "inputs"
# inputs/<command>_<name>.yaml -> schema of <command>
SCHEMAS = {"md": MdProtocol}
SCHEMAS.update(survive=SurviveConfig, speed=SpeedConfig, bench=ScalingConfig)
SCHEMAS.update(fit=FitConfig)
SCHEMAS.update(optimise=OptimiseConfig)
SCHEMAS.update(distil=DistilConfig)
SCHEMAS.update(diffusion=DiffusionConfig)
SCHEMAS.update(demo=DemoConfig)
SCHEMAS.update(tde=TdeConfig, cascade=CascadeConfig)
SCHEMAS.update(validate=ValidateConfig)
SCHEMAS.update(predict=PredictConfig)
SCHEMAS.update(learn=LearnConfig)


def _examples():
    return sorted(INPUTS.glob("*.yaml"))


def test_there_are_examples():
    assert _examples(), f"no example configs in {INPUTS}"


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.name)
def test_example_validates(path):
    command = path.stem.split("_", 1)[0]
    assert command in SCHEMAS, f"{path.name}: name must start with a command prefix {sorted(SCHEMAS)}"
    load_config(SCHEMAS[command], path)
