"""The demo config: one file holding the config of every step of the main job.

Each section is the config of an existing command with the paths that the
demo chains together left out (they are filled in by :mod:`simkit.demo.steps`)::

    data:      simkit distil   without 'output'
    snap:      simkit optimise without 'output_dir' (and 'fit.data.train', the distilled file)
    ace:       simkit optimise likewise; optional
    refine:    active learning of the best students (optional; :mod:`simkit.demo.refine`)
    validation: the students against the teacher (optional; :mod:`simkit.demo.validate`)
    cycle:     simkit md       without 'output_dir' and 'potential' (the best optimised model)
    analysis:  simkit analyse  options of 'rdf' and 'crystallinity'

The sections stay plain mappings here and are validated by their own schema
once the demo has filled in its paths, so an error names the demo file and
the section (``demo.yaml: cycle.stages.2.duration_ps: ...``) before any step runs.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from simkit.config.schema import PathIn, Schema
from simkit.demo.audit import AuditSection
from simkit.demo.refine import RefineSection
from simkit.demo.validate import ValidationSection


def default_config_path() -> Path:
    """The embedded default demo (ships inside the package, needs no files of the user)."""
    return Path(str(resources.files("simkit.demo") / "default.yaml"))


class RdfSection(Schema):
    """Options of ``simkit analyse ... rdf`` for the two windows compared in the report."""

    r_max_A: float = Field(default=6.0, gt=0)
    bin_width_A: float = Field(default=0.05, gt=0)


class CycleReading(Schema):
    """How the demo reads a RESET/SET cycle (stage names of the cycle section)."""

    amorphised_after: str = Field(description="stage at whose end the amorphised slabs are read (the RESET's cooling)")
    growth_during: str = Field(description="stage over which the crystal fronts' growth velocity is fitted (the SET)")
    snapshots_after: list[str] = Field(default_factory=list, description="stages whose last frame is drawn")
    level: float = Field(default=0.5, gt=0, lt=1, description="slab crystalline fraction separating crystal from "
                         "amorphous (fronts, amorphised slabs)")


class AnalysisSection(Schema):
    rdf: RdfSection = Field(default_factory=RdfSection)
    rdf_stages: list[str] = Field(
        min_length=1, description="cycle stage names; the RDF over each stage's frames, overlaid in one figure"
    )
    crystallinity: dict[str, Any] = Field(
        default_factory=dict, description="options of 'simkit analyse FILE crystallinity' (validated there); "
        "without a reference, the cycle's starting cell (initial.extxyz) is the reference crystal"
    )
    cycle: CycleReading | None = Field(
        default=None, description="amorphised region, crystal fronts and growth velocity, snapshots")
    audit: AuditSection | None = Field(
        default_factory=AuditSection, description="the cycle's frames re-evaluated by the teacher (null: skip); "
        "the only check that sees a student that found a structure the teacher does not have")


class DemoConfig(Schema):
    """``simkit demo [CONFIG]``: data -> optimised SNAP (and ACE) -> device cycle -> analysis -> report."""

    output_dir: PathIn | None = Field(default=None, description="default: runs/demo under the working directory")
    seed: int = Field(default=0, ge=0, description="seed of every step (each section may set its own)")
    cycle_ranks: int = Field(default=2, ge=1, description="MPI ranks of the device cycle (mpirun -np)")
    data_ranks: int = Field(default=2, ge=1, description="MPI ranks of the teacher's labelling and the students' "
                            "explorations (simkit distil under mpirun -np: the ranks run different generators)")
    cycle_model: Literal["best", "snap", "ace"] = Field(
        default="best", description="which optimised model runs the cycle; best: the lower objective of the two"
    )
    data: dict[str, Any]
    snap: dict[str, Any]
    ace: dict[str, Any] | None = None
    refine: RefineSection | None = Field(
        default=None, description="active learning: the best students explore, the teacher labels their mistakes, "
        "they are refit (the validation and the cycle then use the refined students)")
    validation: ValidationSection | None = Field(
        default=None, description="students against the teacher: per-phase errors, liquid/amorphous structure")
    cycle: dict[str, Any]
    analysis: AnalysisSection

    @model_validator(mode="after")
    def _model_present(self) -> "DemoConfig":
        if self.cycle_model == "ace" and self.ace is None:
            raise ValueError("cycle_model is 'ace' but there is no 'ace' section")
        if self.refine is not None and "ace" in self.refine.families and self.ace is None:
            raise ValueError("refine.families names 'ace' but there is no 'ace' section")
        if self.cycle_model == "best" and self.ace is not None:
            # Objective values are comparable only when both families are scored the same way.
            for key in ("objective", "speed", "survival"):
                if self.snap.get(key) != self.ace.get(key):
                    raise ValueError(f"cycle_model 'best' compares the objectives of snap and ace: give both the "
                                     f"same '{key}' section, or name the model (cycle_model: snap or ace)")
        for section, keys in (("data", ("output",)), ("snap", ("output_dir",)), ("ace", ("output_dir",)),
                              ("cycle", ("output_dir", "potential"))):
            given = getattr(self, section) or {}
            for key in keys:
                if key in given:
                    raise ValueError(f"{section}.{key}: set by the demo itself (it chains the steps); remove it")
        return self
