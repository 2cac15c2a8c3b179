"""The ``simkit learn`` config. Example (inputs/learn_si.yaml)::

    output_dir: ../runs/learn-si
    seed: 1
    teacher: {kind: snap, coeff: lammps:Si_Zuo_JPCA2020.snapcoeff, param: lammps:Si_Zuo_JPCA2020.snapparam}
    fit: {backend: ace, elements: [Si], data: {train: si-crystal.extxyz}, ace: {...}}
    benchmark: si-benchmark.extxyz          # labelled frames, fixed for every iteration
    exploration:                            # a survival screen of each student
      structures: [{bulk: {element: Si, crystal: diamond, a_A: 5.431, cubic: true}}]
      survival: {temperatures_K: [1500, 2500], replicas: 2, duration_ps: 2, target_atoms: 64}
    selection: {gamma_threshold: 5, max_frames_per_iteration: 8}
    stop: {max_iterations: 4, max_gamma: 5}
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from simkit.config.schema import ExistingFile, PathIn, Schema
from simkit.distil.teachers import TeacherSpec
from simkit.fitting.ace import AceFitConfig
from simkit.screening.settings import SurvivalSettings
from simkit.structures.spec import StructureSpec

# Each iteration is a fit, a screen and labelling; fifty is past any sensible budget.
MAX_ITERATIONS = 50


def _iteration_output(value: Any) -> Any:
    # simkit learn gives every iteration's fit its own folder (set per iteration); a user's one is refused.
    if isinstance(value, dict):
        if "output_dir" in value:
            raise ValueError("fit.output_dir is set by simkit learn (one folder per iteration); remove it")
        return {"output_dir": "iterations", **value}
    return value


AceFitSection = Annotated[AceFitConfig, BeforeValidator(_iteration_output)]


class ExplorationSpec(Schema):
    """Where each student is run: a survival screen (its conditions, its failure checks) from these cells."""

    structures: list[StructureSpec] = Field(min_length=1)
    survival: SurvivalSettings


class SelectionSpec(Schema):
    """Which explored cells the teacher labels."""

    gamma_threshold: float = Field(
        default=5.0, gt=1, description="each replica's first cell whose largest gamma exceeds this is a candidate")
    max_frames_per_iteration: int = Field(default=10, ge=1, description="the candidates of highest gamma are kept")
    max_force_eV_per_A: float = Field(
        default=30.0, gt=0, description="labelled cells with a larger teacher force component are dropped "
        "(a pair inside the teacher's hard core teaches nothing)")
    config_type: str = Field(default="learned", min_length=1, description="label of the added frames")
    energy_weight: float = Field(
        default=0.3, ge=0, description="energy weight of the added frames (their forces keep the fit's weight): "
        "a cell from a run that is going wrong can be eV/atom from the training data and must not outweigh it")


class StopSpec(Schema):
    """The loop ends after ``max_iterations`` students, or earlier when a target is met."""

    max_iterations: int = Field(default=4, ge=1, le=MAX_ITERATIONS)
    max_gamma: float | None = Field(default=None, gt=1, description="stop when no explored cell grades above this")
    energy_rmse_meV_per_atom: float | None = Field(default=None, gt=0, description="benchmark-set target")


class LearnConfig(Schema):
    output_dir: PathIn
    seed: int = Field(default=0, ge=0, description="seeds the fits' splits and the screens' velocities")
    teacher: TeacherSpec
    fit: AceFitSection = Field(description="an ACE `simkit fit` config (backend: ace) without output_dir: its "
                               "data.train is the starting dataset; its validation is replaced by the benchmark set")
    refit_iterations: int | None = Field(
        default=None, ge=1, description="pacemaker iterations of each refit, which starts from the previous "
        "student's coefficients (default: the fit's own max_iterations)")
    benchmark: ExistingFile = Field(description="labelled frames the students' errors are measured on")
    exploration: ExplorationSpec
    selection: SelectionSpec = Field(default_factory=SelectionSpec)
    stop: StopSpec = Field(default_factory=StopSpec)
