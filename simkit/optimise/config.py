"""Config of ``simkit optimise``: the fit, the search space, the objective, the budget.

Example (see ``inputs/optimise_snap_si.yaml``)::

    output_dir: ../runs/optimise_snap_si
    seed: 2025
    fit:                                  # a fit config (any backend); output_dir is not needed
      backend: snap
      elements: [Si]
      data: {train: fit_si_teacher.extxyz, validation: {kind: holdout, fraction: 0.25}}
      snap: {quadratic: true, solver: {kind: ridge, alpha: 1.0e-6}}
    search_space:                         # dotted names into the fit config
      snap.rcutfac: {real: [3.5, 5.5]}
      snap.solver.alpha: {real: [1.0e-8, 1.0e-2], prior: log-uniform}
      snap.twojmax: {categorical: [4, 6]}
      # one dimension per config_type found in the training data (an explicit
      # weights.config_types.<name>.forces key wins for that type):
      weights.config_types.*.forces: {real: [0.1, 10], prior: log-uniform}
    objective:
      cost_weight: 1.0
      scale: log
      constraints: {min_survival_fraction: 1.0}
    speed: {structure: {bulk: {element: Si, crystal: diamond, a_A: 5.431, cubic: true}}, size_atoms: 216}
    survival: {structure: {...}, temperatures_K: [1500], replicas: 2, duration_ps: 1.0, target_atoms: 64}
    budget: {candidates: 12}
    optimiser: {initial_points: 4, acquisition: {kind: EI, xi: 0.01}}
    # optional: optimiser.local_refinement: {start_after: 20, share: 0.5} (trust region around the best)

The scalar objective (smaller is better) is::

    loss_weight * f(L) + cost_weight * f(cost) + instability_weight * (1 - survival fraction)
        + sum over property targets of weight * ((value - target) / tolerance)^2

with ``f`` the identity (``scale: linear``) or log10 (``scale: log``), ``L`` the
validation loss of the fit (``alpha * L_E + (1 - alpha) * L_F``, meV and
meV/Å; ``objective.force_loss: component`` makes L_F the force-component RMSE,
XPOT's convention, see :mod:`simkit.scoring.metrics`; with ``objective.error_targets`` L is replaced by
100 max(E / E_target, F / F_target), in percent of two error targets) and ``cost`` the reference potential's
speed over the candidate's
(1 = as fast as ``speed.reference``) or, without a reference, core-microseconds
per atom-step (1e6 / atom-steps per second per core). Property targets
(``properties:``, e.g. ``C44_GPa: {target: 76.2, tolerance: 5, weight: 0.1}``)
are computed as ``simkit validate`` computes them; the property term is
added as it is on either scale.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Field, field_validator, model_validator

from simkit.config.schema import GrowingSchema, PathIn, Schema
from simkit.fitting.ace import UpfitStage
from simkit.fitting.registry import BACKENDS, config_class
from simkit.fitting.snap_weights import ErrorTargets
from simkit.lammps.potentials.specs import PotentialSpec
from simkit.scoring.metrics import ForceLoss
from simkit.screening.config import FramesSpec
from simkit.screening.settings import SurvivalSettings
from simkit.screening.speed import TimingSettings
from simkit.structures.spec import StructureSpec
from simkit.validation.config import PropertiesSpec, with_quantities

_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_+\-]+)+$|^[A-Za-z_][A-Za-z0-9_]*$"

# ``weights.config_types.*.energy`` (or .forces, .virial): one dimension per config_type of the training data,
# each with the range and prior given (see simkit.optimise.space.expand_config_types).
CONFIG_TYPE_WILDCARD = "*"
WILDCARD_PATTERN = r"^weights\.config_types\.\*\.(energy|forces|virial)$"


class Dimension(Schema):
    """One searched setting: exactly one of ``real: [low, high]``, ``integer: [low, high]``
    or ``categorical: [values...]``; ``prior`` applies to real and integer ranges."""

    real: tuple[float, float] | None = None
    integer: tuple[int, int] | None = None
    categorical: list[Any] | None = None
    prior: Literal["uniform", "log-uniform"] = "uniform"

    @model_validator(mode="after")
    def _one_kind(self) -> "Dimension":
        given = [k for k in ("real", "integer", "categorical") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of real, integer or categorical, got {given or 'none'}")
        bounds = self.real if self.real is not None else self.integer
        if bounds is not None:
            low, high = bounds
            if not low < high:
                raise ValueError(f"range [{low}, {high}] needs low < high")
            if self.prior == "log-uniform" and low <= 0:
                raise ValueError(f"a log-uniform range needs low > 0, got [{low}, {high}]")
        else:
            if self.prior != "uniform":
                raise ValueError("prior applies to real and integer ranges only")
            if len(self.categorical) < 2:
                raise ValueError("a categorical dimension needs at least two values (fix a single value in 'fit')")
            labels = [category_label(v) for v in self.categorical]
            if len(set(labels)) != len(labels):
                raise ValueError(f"categorical values must be distinct, got {self.categorical}")
        return self

    @property
    def kind(self) -> str:
        return "real" if self.real is not None else "integer" if self.integer is not None else "categorical"


def category_label(value: Any) -> str:
    """The text a categorical value is known by (to the optimiser and in the journal): its JSON."""
    return json.dumps(value, sort_keys=True)


class Constraints(Schema):
    """Hard limits; a candidate that misses one is 'infeasible' and told to the optimiser with a penalty."""

    max_loss: float | None = Field(default=None, gt=0, description="largest validation loss L allowed")
    min_speed_atom_steps_per_s_per_core: float | None = Field(default=None, gt=0)
    min_relative_speed: float | None = Field(default=None, gt=0, description="candidate / reference speed")
    min_survival_fraction: float | None = Field(default=None, gt=0, le=1)


class ObjectiveSpec(GrowingSchema):
    """How loss, speed and survival combine (see the module docstring for the formula)."""

    ADDED_KEYS = {"error_targets": None}

    alpha: float | None = Field(
        default=None, ge=0, le=1, description="L = alpha L_E + (1 - alpha) L_F; default: fit.scoring.alpha"
    )
    force_loss: ForceLoss | None = Field(
        default=None, description="L_F: force-vector or force-component RMSE; default: fit.scoring.force_loss"
    )
    loss_weight: float = Field(default=1.0, ge=0)
    cost_weight: float = Field(default=0.0, ge=0)
    instability_weight: float = Field(default=0.0, ge=0, description="weight of (1 - survival fraction)")
    scale: Literal["linear", "log"] = Field(default="linear", description="log: log10 of loss and cost")
    constraints: Constraints = Field(default_factory=Constraints)
    early_stop: bool = Field(
        default=True, description="stop a candidate after the fit or the speed test once it cannot beat the best"
    )
    error_targets: ErrorTargets | None = Field(
        default=None, description="in place of L, the loss term is 100 max(E / energy, F / forces) on the "
        "validation set (percent of the targets, forces of the kind force_loss names); a SNAP weight search "
        "then aims each candidate's weights at the same targets; constraints.max_loss bounds that percent")

    @model_validator(mode="after")
    def _some_weight(self) -> "ObjectiveSpec":
        if self.loss_weight == 0 and self.cost_weight == 0 and self.instability_weight == 0:
            raise ValueError("loss_weight, cost_weight and instability_weight are all 0: nothing to optimise")
        return self


class SpeedStage(TimingSettings):
    """Speed test of every candidate (``simkit speed`` on one cell), after the fit.

    Every candidate is timed with the same cores (its share of the machine) and
    the median of ``repeats`` is kept. With ``reference`` the same worker times
    that potential right before each candidate, and the cost is their ratio, which
    cancels most of the load other concurrent candidates put on the machine.
    """

    structure: StructureSpec
    size_atoms: int = Field(default=512, ge=1, description="the structure is replicated to at least this")
    reference: PotentialSpec | None = None


class SurvivalStage(SurvivalSettings):
    """Survival screen of every candidate (``simkit survive``), run last.

    Starting cells from ``structure`` or ``frames``; r_min is taken from the
    training data unless ``thresholds.reference_min_distance_A`` is given.
    """

    structure: StructureSpec | None = None
    frames: FramesSpec | None = None
    workers: int | None = Field(
        default=None, ge=0,
        description="worker processes per candidate without mpirun (default: the candidate's cores when more "
        "than one; 0: replicas run one after another in the candidate's process, which saves the workers' "
        "start-up on short screens); under mpirun the candidate's ranks run the replicas",
    )

    @model_validator(mode="after")
    def _one_source(self) -> "SurvivalStage":
        if (self.structure is None) == (self.frames is None):
            raise ValueError("give exactly one of 'structure' or 'frames'")
        return self

    def settings(self) -> SurvivalSettings:
        return SurvivalSettings.model_validate(self.model_dump(exclude={"structure", "frames", "workers"}))


class PropertyTarget(Schema):
    """A physical property a candidate should reproduce: ``weight`` adds weight * ((value - target) /
    tolerance)^2 to the objective, ``constraint`` makes |value - target| <= tolerance a hard limit."""

    target: float
    tolerance: float = Field(gt=0)
    weight: float = Field(default=0.0, ge=0)
    constraint: bool = False

    @model_validator(mode="after")
    def _does_something(self) -> "PropertyTarget":
        if self.weight == 0 and not self.constraint:
            raise ValueError("a target with weight 0 and constraint false does nothing: give a weight, "
                             "or constraint: true")
        return self


class PropertiesStage(Schema):
    """Physical properties of every candidate (as ``simkit validate`` computes them on ``structure``),
    right after the fit: they cost seconds, less than the speed test and far less than survival.
    ``compute`` sets the properties' settings; those the targets need are switched on by themselves."""

    structure: StructureSpec
    compute: PropertiesSpec = Field(default_factory=PropertiesSpec)
    targets: dict[str, PropertyTarget] = Field(default_factory=dict)
    no_dimer_hole: bool = Field(default=False, description="constraint: no dimer curve may have a hole")

    @model_validator(mode="after")
    def _settings(self) -> "PropertiesStage":
        if not self.targets and not self.no_dimer_hole:
            raise ValueError("give targets, or no_dimer_hole: true")
        names = list(self.targets) + (["dimer_"] if self.no_dimer_hole else [])
        self.__dict__["compute"] = with_quantities(self.compute, names, "properties.targets")
        return self

    @property
    def weighted(self) -> bool:
        return any(t.weight > 0 for t in self.targets.values())


class GpHedge(Schema):
    """skopt's portfolio of EI, LCB and PI, chosen by their past gains."""

    kind: Literal["gp_hedge"]
    xi: float = Field(default=0.01, ge=0)
    kappa: float = Field(default=1.96, ge=0)
    eta: float = Field(default=1.0, gt=0)


class ExpectedImprovement(Schema):
    kind: Literal["EI"]
    xi: float = Field(default=0.01, ge=0, description="exploration: improvement required over the best")


class ProbabilityOfImprovement(Schema):
    kind: Literal["PI"]
    xi: float = Field(default=0.01, ge=0)


class LowerConfidenceBound(Schema):
    kind: Literal["LCB"]
    kappa: float = Field(default=1.96, ge=0, description="exploration: mean - kappa * std")


def _acquisition_shorthand(value: Any) -> Any:
    return {"kind": value} if isinstance(value, str) else value


Acquisition = Annotated[
    Union[GpHedge, ExpectedImprovement, ProbabilityOfImprovement, LowerConfidenceBound],
    Field(discriminator="kind"), BeforeValidator(_acquisition_shorthand),
]


class LocalRefinement(Schema):
    """Proposals inside a trust region around the best candidate so far, chosen by the surrogate.

    After ``start_after`` candidates have been told, a ``share`` of the proposals
    is local: ``samples`` points drawn uniformly in a box of half-width ``radius``
    (a fraction of each dimension's range, of its log range for log-uniform
    priors; categorical settings keep the best candidate's value) around the
    best point, and the one with the largest expected improvement under the
    surrogate (with the lies of running candidates) is taken. The radius halves
    after every ``patience`` candidates told without improving on the best, down
    to ``min_radius``; it depends only on the told values, so a resumed run
    continues with the same radius.
    """

    start_after: int = Field(ge=1, description="candidates told before the first local proposal")
    share: float = Field(default=0.5, gt=0, le=1, description="fraction of the later proposals that are local")
    radius: float = Field(default=0.1, gt=0, le=0.5, description="initial half-width, fraction of each range")
    min_radius: float = Field(default=0.0125, gt=0, le=0.5)
    patience: int = Field(default=4, ge=1, description="candidates without improvement before the radius halves")
    samples: int = Field(default=2000, ge=10, description="points drawn in the region per local proposal")

    @model_validator(mode="after")
    def _radii(self) -> "LocalRefinement":
        if self.min_radius > self.radius:
            raise ValueError(f"min_radius {self.min_radius} is larger than radius {self.radius}")
        return self


class OptimiserSpec(GrowingSchema):
    """scikit-optimize's Bayesian optimiser: initial design, surrogate, acquisition, parallel lies, and an
    optional local refinement around the best candidate."""

    ADDED_KEYS = {"min_spacing": 0.0}

    initial_points: int = Field(default=5, ge=1, description="points of the initial design before the surrogate")
    initial_point_generator: Literal["hammersley", "halton", "sobol", "lhs", "random"] = "hammersley"
    base_estimator: Literal["GP", "RF", "ET", "GBRT"] = "GP"
    acquisition: Acquisition = Field(default_factory=lambda: GpHedge(kind="gp_hedge"))
    liar: Literal["cl_min", "cl_mean", "cl_max"] = Field(
        default="cl_min", description="value assumed for candidates still running when another is asked for"
    )
    local_refinement: LocalRefinement | None = Field(default=None, description="off by default")
    min_spacing: float = Field(
        default=0.0, ge=0, le=0.5,
        description="a proposal closer than this to a finished or running candidate (in every dimension, as a "
                    "fraction of its range) is replaced by the best point outside; 0: off",
    )


class Budget(Schema):
    """When to stop dispatching candidates (running ones finish)."""

    candidates: int = Field(ge=1, description="finished candidates in total, over all sessions of the run")
    wall_time_min: float | None = Field(default=None, gt=0, description="per session of the run (a resume restarts it)")


class ParallelSpec(Schema):
    """Candidates evaluated at once (k). Each gets C/k cores (processes) or N/k MPI ranks."""

    candidates: int | None = Field(
        default=None, ge=1, description="default: one per core available (without mpirun) or per MPI rank"
    )


class FinalUpfit(Schema):
    """Refit the best ACE candidate with extra upfit stages (e.g. smaller kappa) into best/upfit/."""

    stages: list[UpfitStage] = Field(min_length=1)


def _default_fit_output(value: Any) -> Any:
    # Each candidate writes into its own directory under output_dir/candidates (set below).
    if isinstance(value, dict) and "output_dir" not in value:
        return {"output_dir": "candidates", **value}
    return value


FitSection = Annotated[
    Union[tuple(config_class(name) for name in BACKENDS)],
    Field(discriminator="backend"), BeforeValidator(_default_fit_output),
]


class OptimiseConfig(Schema):
    """A ``simkit optimise`` run (see the module docstring)."""

    output_dir: PathIn = Field(description="run directory: journal, candidates, results")
    seed: int = Field(default=0, ge=0, description="initial design, optimiser and MD velocity seeds")
    fit: FitSection
    search_space: dict[str, Dimension] = Field(min_length=1)
    objective: ObjectiveSpec = Field(default_factory=ObjectiveSpec)
    speed: SpeedStage | None = None
    survival: SurvivalStage | None = None
    properties: PropertiesStage | None = None
    budget: Budget
    optimiser: OptimiserSpec = Field(default_factory=OptimiserSpec)
    parallel: ParallelSpec = Field(default_factory=ParallelSpec)
    final_upfit: FinalUpfit | None = None
    progress: bool = Field(default=True, description="progress bar on stderr (rank 0)")

    @field_validator("search_space")
    @classmethod
    def _names(cls, value: dict[str, Dimension]) -> dict[str, Dimension]:
        wildcards = [name for name in value if CONFIG_TYPE_WILDCARD in name]
        misplaced = [name for name in wildcards if not re.match(WILDCARD_PATTERN, name)]
        if misplaced:
            raise ValueError(f"'{misplaced[0]}': '*' may only stand for the config_type, as in "
                             "'weights.config_types.*.energy' (or .forces, .virial): one dimension per config_type "
                             "of the training data")
        bad = [name for name in value if name not in wildcards and not re.match(_NAME_PATTERN, name)]
        if bad:
            raise ValueError(f"search space names must be dotted names like 'snap.rcutfac', got {bad}")
        return value

    @model_validator(mode="after")
    def _stages_for_objective(self) -> "OptimiseConfig":
        o, c = self.objective, self.objective.constraints
        if (o.cost_weight > 0 or c.min_speed_atom_steps_per_s_per_core or c.min_relative_speed) and self.speed is None:
            raise ValueError("the objective uses speed (cost_weight or a speed constraint): add a 'speed' section")
        if c.min_relative_speed and (self.speed is None or self.speed.reference is None):
            raise ValueError("constraints.min_relative_speed needs speed.reference (the potential to compare with)")
        if (o.instability_weight > 0 or c.min_survival_fraction) and self.survival is None:
            raise ValueError("the objective uses survival (instability_weight or min_survival_fraction): "
                             "add a 'survival' section")
        if self.final_upfit is not None and self.fit.backend != "ace":
            raise ValueError(f"final_upfit applies to ACE only, the fit backend is {self.fit.backend!r}")
        search = getattr(getattr(self.fit, "snap", None), "weight_search", None)
        if o.error_targets is not None and search is not None:
            if search.targets is not None and search.targets != o.error_targets:
                raise ValueError("objective.error_targets and fit.snap.weight_search.targets differ: give one of them "
                                 "(the weight search takes the objective's)")
            self.fit.snap.weight_search = search.model_copy(update={"targets": o.error_targets})
        candidates = self.output_dir / "candidates"
        if self.fit.output_dir != candidates:
            self.fit.output_dir = candidates
        return self

    @property
    def alpha(self) -> float:
        return self.fit.scoring.alpha if self.objective.alpha is None else self.objective.alpha

    @property
    def force_loss(self) -> str:
        return self.fit.scoring.force_loss if self.objective.force_loss is None else self.objective.force_loss
