"""The protocol side of ``simkit bench predict``: atoms, MD steps and trajectory frames of a run.

From a ``simkit md`` config the segments are the run's own (stage durations and
timesteps, ``trajectory_every`` with per-stage overrides, a frame at the start of
recording as the runner writes it); velocity, minimise and rescale stages count
no steps. Or from explicit stages: ``{name, duration_ps, timestep_fs, frame_every_ps}``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field, model_validator

from simkit.config import load_config
from simkit.config.schema import ExistingFile, Schema

# plan.py keeps the stage -> segment rules private; using them keeps the step counts the run's own.
from simkit.drivers.md.plan import stage_segments
from simkit.drivers.md.protocol import MdProtocol
from simkit.drivers.md.stages import MAX_DURATION_PS
from simkit.structures.device import build_device
from simkit.structures.spec import load_structure
from simkit.units import PS_PER_FS, steps_for


class StageSpec(Schema):
    """One MD stage of an explicit protocol."""

    name: str
    duration_ps: float = Field(gt=0, le=MAX_DURATION_PS)
    timestep_fs: float | None = Field(default=None, gt=0, description="default: the protocol's timestep_fs")
    frame_every_ps: float | None = Field(default=None, gt=0, description="ps between frames (default: none)")


class ProtocolSpec(Schema):
    """Either ``md_config`` (a ``simkit md`` config) or explicit ``stages``; ``atoms`` in the cell."""

    md_config: ExistingFile | None = None
    stages: list[StageSpec] | None = Field(default=None, min_length=1)
    timestep_fs: float | None = Field(default=None, gt=0, description="stages without their own timestep")
    atoms: int | None = Field(default=None, ge=1, description="default with md_config: built from it")

    @model_validator(mode="after")
    def _one_source(self) -> "ProtocolSpec":
        if (self.md_config is None) == (self.stages is None):
            raise ValueError("give exactly one of 'md_config' or 'stages'")
        if self.stages is not None:
            if self.atoms is None:
                raise ValueError("explicit stages need 'atoms'")
            missing = [s.name for s in self.stages if s.timestep_fs is None and self.timestep_fs is None]
            if missing:
                raise ValueError(f"stages {missing} have no timestep_fs (give it per stage or for the protocol)")
        elif self.timestep_fs is not None:
            raise ValueError("'timestep_fs' belongs to explicit stages; an md_config has its own")
        return self


@dataclass(frozen=True)
class StageCost:
    name: str
    steps: int
    timestep_fs: float
    frames: int


@dataclass
class ProtocolCost:
    atoms: int
    atoms_source: str
    source: str
    stages: list[StageCost]

    @property
    def steps(self) -> int:
        return sum(s.steps for s in self.stages)

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.stages)

    @property
    def simulated_ps(self) -> float:
        return sum(s.steps * s.timestep_fs for s in self.stages) * PS_PER_FS


def protocol_cost(spec: ProtocolSpec) -> ProtocolCost:
    """Steps and frames of each stage, and the atoms (ConfigError naming the md config if it is invalid)."""
    if spec.stages is not None:
        stages = []
        for stage in spec.stages:
            timestep = stage.timestep_fs or spec.timestep_fs
            steps = steps_for(stage.duration_ps, timestep)
            every = steps_for(stage.frame_every_ps, timestep) if stage.frame_every_ps else 0
            stages.append(StageCost(stage.name, steps, timestep, steps // every if every else 0))
        return ProtocolCost(spec.atoms, "config", "stages", stages)
    protocol = load_config(MdProtocol, spec.md_config)
    segments = [s for index, stage in enumerate(protocol.stages) for s in stage_segments(protocol, stage, index, 0)]
    stages, recording = [], False
    for segment in segments:
        every = segment.outputs.trajectory_every
        # as the runner writes them: one frame where recording starts (also at the very start)
        frames = int(bool(every) and not recording)
        if segment.kind == "md" and every:
            frames += segment.steps // every
        steps = segment.steps if segment.kind == "md" else 0
        stages.append(StageCost(segment.label, steps, segment.timestep_fs, frames))
        recording = bool(every)
    if spec.atoms is not None:
        return ProtocolCost(spec.atoms, "config", str(spec.md_config), stages)
    rng = np.random.default_rng(protocol.seed)
    atoms = build_device(protocol.device, rng).atoms if protocol.device else load_structure(protocol.structure, rng)
    return ProtocolCost(len(atoms), f"built from {spec.md_config}", str(spec.md_config), stages)

