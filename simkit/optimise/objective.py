"""Scores of a candidate: the scalar objective, its bounds while stages are missing, constraints, penalties.

Stages run cheap-first (fit, then speed, then survival). Every term of the
objective is bounded below (cost >= 0 on the linear scale, 1 - survival >= 0),
so after each stage the measured terms give a lower bound of the final value;
once that bound is no better than the best finished candidate, the candidate
cannot win and stops ("pruned"). The optimiser is then told the bound, a value
no better than the truth. A candidate that misses a constraint ("infeasible")
or fails ("failed") is told a penalty above every feasible value seen so far.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

import numpy as np

from simkit.optimise.config import ObjectiveSpec, PropertiesStage


class CandidateStatus(StrEnum):
    """Status of a candidate in the journal."""

    OK = "ok"  # every stage ran and every constraint holds
    PRUNED = "pruned"  # stopped early: could no longer beat the best
    INFEASIBLE = "infeasible"  # missed a constraint
    FAILED = "failed"  # an error (invalid settings, failed fit, LAMMPS error, dead worker)
    RUNNING = "running"  # dispatched, not finished
    LOST = "lost"  # was running when the run was killed; not told, not counted


FINISHED_STATES = (CandidateStatus.OK, CandidateStatus.PRUNED, CandidateStatus.INFEASIBLE, CandidateStatus.FAILED)

_PENALTY_FRACTION = 0.25
_TINY = 1e-300


@dataclass(frozen=True)
class Objective:
    """The user's combination of loss, cost, survival and property misfit (see :mod:`simkit.optimise.config`).

    ``properties`` is the term of the property targets (:meth:`property_term`), 0 before they are measured:
    it is never negative, so leaving it out keeps a lower bound a lower bound.
    """

    spec: ObjectiveSpec
    targets: PropertiesStage | None = None

    def _f(self, value: float) -> float:
        return math.log10(max(value, _TINY)) if self.spec.scale == "log" else float(value)

    @property
    def uses_cost(self) -> bool:
        return self.spec.cost_weight > 0

    @property
    def uses_survival(self) -> bool:
        return self.spec.instability_weight > 0

    def lower_bound(self, loss: float, cost: float | None = None, survival_max: float | None = None,
                    properties: float = 0.0) -> float:
        """Smallest objective a candidate can still reach given what has been measured.

        ``survival_max`` is the highest survival fraction still possible (1 before
        the screen). On the log scale an unmeasured cost has no lower bound.
        """
        s = self.spec
        value = s.loss_weight * self._f(loss) if s.loss_weight else 0.0
        if s.cost_weight:
            if cost is not None:
                value += s.cost_weight * self._f(cost)
            elif s.scale == "log":
                return -math.inf
        if s.instability_weight and survival_max is not None:
            value += s.instability_weight * (1.0 - survival_max)
        return value + properties

    def value(self, loss: float, cost: float | None, survival: float | None, properties: float = 0.0) -> float:
        """The objective of a fully measured candidate (unused terms may be None)."""
        if (self.uses_cost and cost is None) or (self.uses_survival and survival is None):
            raise ValueError("the objective needs every term it weights")
        return self.lower_bound(loss, cost, survival, properties)

    def property_term(self, values: dict) -> float:
        """Sum of weight * ((value - target) / tolerance)^2 over the weighted targets."""
        if self.targets is None:
            return 0.0
        term = 0.0
        for name, target in self.targets.targets.items():
            if target.weight > 0:
                value = values.get(name)
                if value is None or not math.isfinite(value):
                    return math.inf
                term += target.weight * ((value - target.target) / target.tolerance) ** 2
        return term

    def property_violation(self, values: dict, problems: list[str]) -> str | None:
        """The first property constraint missed (a target out of tolerance, a dimer hole), or None."""
        if self.targets is None:
            return None
        for name, target in self.targets.targets.items():
            if not target.constraint:
                continue
            value = values.get(name)
            if value is None:
                return f"property {name} could not be computed (constraint {target.target:g} +- {target.tolerance:g})"
            if abs(value - target.target) > target.tolerance:
                return (f"property {name} = {value:.6g}, outside {target.target:g} +- {target.tolerance:g}")
        if self.targets.no_dimer_hole:
            holes = [p for p in problems if "dimer" in p]
            if holes:
                return f"no_dimer_hole: {holes[0]}"
        return None

    def survival_needed(self, loss: float, cost: float | None, best: float | None,
                        properties: float = 0.0) -> float | None:
        """Survival fraction a candidate must exceed to beat ``best`` (None: no requirement)."""
        if best is None or not self.uses_survival or not math.isfinite(best):
            return None
        partial = self.lower_bound(loss, cost, 1.0, properties)
        needed = 1.0 - (best - partial) / self.spec.instability_weight
        return needed if needed > 0 else None

    def survival_requirement(self, loss: float, cost: float | None, best: float | None,
                             properties: float = 0.0) -> tuple[float | None, str]:
        """Minimum survival fraction to ask the screen for, and why (constraint or pruning)."""
        constraint = self.spec.constraints.min_survival_fraction
        needed = self.survival_needed(loss, cost, best, properties) if self.spec.early_stop else None
        if needed is not None and needed > 1.0:
            needed = 1.0
        if needed is not None and (constraint is None or needed > constraint):
            return needed, "to beat the best"
        return constraint, "constraint"

    # -- constraints -------------------------------------------------------------------
    def loss_violation(self, loss: float) -> str | None:
        limit = self.spec.constraints.max_loss
        if limit is not None and loss > limit:
            return f"validation loss {loss:.4g} > max_loss {limit:g}"
        return None

    def speed_violation(self, per_core: float, relative: float | None) -> str | None:
        c = self.spec.constraints
        if c.min_speed_atom_steps_per_s_per_core is not None and per_core < c.min_speed_atom_steps_per_s_per_core:
            return (f"speed {per_core:.4g} atom-steps/s per core < min_speed_atom_steps_per_s_per_core "
                    f"{c.min_speed_atom_steps_per_s_per_core:g}")
        if c.min_relative_speed is not None and relative is not None and relative < c.min_relative_speed:
            return f"relative speed {relative:.3g} < min_relative_speed {c.min_relative_speed:g}"
        return None

    def survival_violation(self, survival_max: float) -> str | None:
        limit = self.spec.constraints.min_survival_fraction
        if limit is not None and survival_max < limit - 1e-12:
            return f"survival at most {survival_max:.3g} < min_survival_fraction {limit:g}"
        return None

    def cannot_win(self, bound: float, best: float | None) -> bool:
        return self.spec.early_stop and best is not None and math.isfinite(bound) and bound >= best


def penalty(lower_bound: float | None, feasible: Sequence[float]) -> float | None:
    """Value told for an infeasible or failed candidate: above every feasible objective seen.

    None when nothing is known yet (the candidate is then not told).
    """
    anchors = [v for v in feasible if math.isfinite(v)]
    if lower_bound is not None and math.isfinite(lower_bound):
        anchors.append(lower_bound)
    if not anchors:
        return None
    top, spread = max(anchors), max(anchors) - min(anchors)
    return top + max(_PENALTY_FRACTION * spread, 0.05 * abs(top), 1e-9)


def pareto_mask(values: np.ndarray) -> np.ndarray:
    """Rows of ``values`` (n, m; all minimised, finite) that no other row dominates."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        others = np.delete(values, i, axis=0)
        dominated = np.all(others <= values[i], axis=1) & np.any(others < values[i], axis=1)
        mask[i] = not dominated.any()
    return mask


def target_percent(targets, validation: dict, force_loss: str) -> float:
    """100 max(E / E_target, F / F_target) from a candidate's validation metrics (``objective.error_targets``):
    the Chebyshev scalarisation of the energy and force errors, below 100 where both targets are met."""
    overall = validation.get("overall") or {}
    energy, forces = overall.get("energy_rmse_meV_per_atom"), overall.get(f"force_{force_loss}_rmse_meV_per_A")
    if energy is None or forces is None:
        return math.inf
    return 100.0 * targets.ratio(energy, forces)
