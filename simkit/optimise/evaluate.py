"""One candidate, cheap stages first: fit and validation loss, then physical properties, then speed,
then survival.

:func:`evaluate_candidate` is what a worker process (or every rank of an MPI
group) runs for one point of the search space. It never raises for a bad
candidate: invalid settings, failed fits, LAMMPS errors and constraint misses
all end in a :class:`CandidateOutcome` with a status and a reason. Everything
it writes goes into the candidate's own directory.
"""

from __future__ import annotations

import json
import logging
import math
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ase import Atoms

from simkit.datasets.splits import PreparedData
from simkit.fitting.base import FitConfigBase
from simkit.fitting.candidate import fit_and_score
from simkit.fitting.registry import with_overrides
from simkit.optimise.config import ObjectiveSpec, PropertiesStage, SpeedStage, SurvivalStage
from simkit.optimise.objective import CandidateStatus, Objective, target_percent
from simkit.runtime.mpi import on_root
from simkit.screening.speed import SpeedSettings, measure_speed
from simkit.screening.survival import run_survival
from simkit.validation.properties import compute as compute_properties

log = logging.getLogger(__name__)

SPEED_JSON = "speed.json"
SURVIVAL_JSON = "survival.json"
PROPERTIES_JSON = "properties.json"
CANDIDATE_LOG = "candidate.log"


@dataclass
class CandidateTask:
    """One point to evaluate, with the best objective known when it was handed out."""

    id: int
    point: list
    params: dict[str, Any]
    workdir: str
    best: float | None = None


@dataclass
class EvaluationContext:
    """What every candidate of a run shares (picklable; sent once to each worker)."""

    fit: FitConfigBase
    data: PreparedData
    objective: ObjectiveSpec
    alpha: float
    seed: int
    force_loss: str = "vector"
    speed: SpeedStage | None = None
    speed_structure: Atoms | None = None
    survival: SurvivalStage | None = None
    survival_structures: list[Atoms] | None = None
    properties: PropertiesStage | None = None
    properties_structure: Atoms | None = None
    cores: int = 1  # per candidate: fit threads, survival workers (processes mode)
    concurrent: int = 1  # candidates evaluated at once
    mode: str = "processes"  # or "mpi"


@dataclass
class CandidateOutcome:
    """Everything measured about one candidate (picklable, JSON-able)."""

    id: int
    status: str = CandidateStatus.FAILED
    reason: str | None = None
    error_type: str | None = None
    loss: float | None = None
    baseline_loss: float | None = None
    validation: dict | None = None
    speed_per_core: float | None = None  # atom-steps/s per core, median over repeats
    reference_speed_per_core: float | None = None
    relative_speed: float | None = None
    cost: float | None = None
    survival: float | None = None  # fraction survived (a lower bound if the screen stopped early)
    survival_max: float | None = None  # highest fraction still possible when it stopped
    survival_detail: dict | None = None
    properties: dict | None = None  # quantity -> value, as simkit validate names them
    property_term: float | None = None  # the objective's property term (0 without weighted targets)
    property_problems: list[str] = field(default_factory=list)
    objective: float | None = None  # complete candidates only
    lower_bound: float | None = None
    stages: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    artefacts: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    fit_info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate_candidate(task: CandidateTask, context: EvaluationContext, *, comm=None) -> CandidateOutcome:
    """Fit, score, time and screen one candidate (collective over ``comm``)."""
    outcome = CandidateOutcome(id=task.id)
    workdir = Path(task.workdir)
    outcome.artefacts["workdir"] = str(workdir)
    start = time.perf_counter()
    try:
        _run_stages(task, context, comm, outcome, workdir)
    except Exception as exc:  # noqa: BLE001 - a candidate's failure is a result, never a crash of the run
        outcome.status, outcome.error_type = CandidateStatus.FAILED, type(exc).__name__
        outcome.reason = f"{type(exc).__name__} in stage '{outcome.stages[-1] if outcome.stages else 'setup'}': {exc}"
        log.warning("candidate %d failed: %s", task.id, outcome.reason)
    outcome.timings_s["total_s"] = time.perf_counter() - start
    return outcome


def _stop(outcome: CandidateOutcome, status: str, reason: str, bound: float | None = None) -> None:
    outcome.status, outcome.reason = status, reason
    if bound is not None:
        outcome.lower_bound = bound
    log.info("candidate %d: %s (%s)", outcome.id, status, reason)


def _run_stages(task, context: EvaluationContext, comm, outcome: CandidateOutcome, workdir: Path) -> None:
    objective = Objective(context.objective, context.properties)
    outcome.stages.append("fit")
    config = with_overrides(context.fit, {**task.params, "scoring.alpha": context.alpha,
                                          "scoring.force_loss": context.force_loss, "output_dir": str(workdir)})
    t = time.perf_counter()
    result = fit_and_score(config, workdir, data=context.data, comm=comm, cores=context.cores)
    outcome.timings_s["fit_s"] = time.perf_counter() - t
    outcome.loss, outcome.baseline_loss, outcome.validation = result.loss, result.baseline_loss, result.validation
    outcome.fit_info = {"timings_s": result.timings_s, **result.fit_info}
    outcome.artefacts.update(potential=result.potential, files=result.files)
    if not math.isfinite(result.loss):
        return _stop(outcome, CandidateStatus.FAILED, f"validation loss is {result.loss}")
    loss = result.loss  # the objective's loss term: L, or the percent of the error targets
    if context.objective.error_targets is not None:
        loss = target_percent(context.objective.error_targets, result.validation, context.force_loss)
    violation = objective.loss_violation(loss)
    bound = objective.lower_bound(loss)
    if violation:
        return _stop(outcome, CandidateStatus.INFEASIBLE, violation, bound)
    # Pruning saves the stages still to come; a candidate with none left is simply complete.
    later_stages = context.speed is not None or context.survival is not None
    if (later_stages or context.properties is not None) and objective.cannot_win(bound, task.best):
        return _stop(outcome, CandidateStatus.PRUNED, f"after the fit: objective >= {bound:.6g} >= best {task.best:.6g}", bound)
    potential = result.build_potential()

    misfit = 0.0
    if context.properties is not None:
        outcome.stages.append("properties")
        t = time.perf_counter()
        misfit = _properties(potential, context, objective, comm, outcome, workdir)
        outcome.timings_s["properties_s"] = time.perf_counter() - t
        violation = objective.property_violation(outcome.properties, outcome.property_problems)
        bound = objective.lower_bound(loss, None, None, misfit)
        if violation:
            return _stop(outcome, CandidateStatus.INFEASIBLE, violation, bound)
        if not math.isfinite(misfit):
            return _stop(outcome, CandidateStatus.FAILED, "a weighted property could not be computed "
                         f"({', '.join(outcome.property_problems) or 'not finite'})")
        if later_stages and objective.cannot_win(bound, task.best):
            return _stop(outcome, CandidateStatus.PRUNED,
                         f"after the properties: objective >= {bound:.6g} >= best {task.best:.6g}", bound)

    cost = None
    if context.speed is not None:
        outcome.stages.append("speed")
        t = time.perf_counter()
        cost = _measure_speed(potential, context, comm, outcome, workdir)
        outcome.timings_s["speed_s"] = time.perf_counter() - t
        violation = objective.speed_violation(outcome.speed_per_core, outcome.relative_speed)
        bound = objective.lower_bound(loss, cost, None, misfit)
        if violation:
            return _stop(outcome, CandidateStatus.INFEASIBLE, violation, bound)
        if context.survival is not None and objective.cannot_win(bound, task.best):
            return _stop(outcome, CandidateStatus.PRUNED, f"after the speed test: objective >= {bound:.6g} >= best {task.best:.6g}",
                         bound)

    survival = None
    if context.survival is not None:
        outcome.stages.append("survival")
        t = time.perf_counter()
        required, why = objective.survival_requirement(loss, cost, task.best, misfit)
        report = _screen(potential, context, comm, required, workdir)
        outcome.timings_s["survival_s"] = time.perf_counter() - t
        outcome.artefacts["survival"] = str(workdir / SURVIVAL_JSON)
        survival = report.survival_fraction
        cancelled = sum(r.status == "cancelled" for r in report.replicas)
        outcome.survival = survival
        outcome.survival_max = (report.survived + cancelled) / report.total if report.total else 0.0
        outcome.survival_detail = {
            "survived": report.survived, "total": report.total, "early_stopped": report.early_stopped,
            "required": required, "required_for": why if required is not None else None,
            "failure_modes": report.failure_modes, "wall_s": report.wall_s,
            "max_gamma": report.max_gamma,  # None unless thresholds.max_gamma graded an ACE with an active set
        }
        violation = objective.survival_violation(outcome.survival_max)
        if violation:
            if not report.early_stopped:
                outcome.objective = objective.lower_bound(loss, cost, survival, misfit)
            return _stop(outcome, CandidateStatus.INFEASIBLE, violation,
                         objective.lower_bound(loss, cost, outcome.survival_max, misfit))
        if report.early_stopped:
            bound = objective.lower_bound(loss, cost, outcome.survival_max, misfit)
            return _stop(outcome, CandidateStatus.PRUNED, f"survival screen stopped: at most {outcome.survival_max:.3g} survive, "
                         f"objective >= {bound:.6g} >= best {task.best}", bound)

    outcome.objective = objective.value(loss, cost, survival, misfit)
    outcome.lower_bound = outcome.objective
    outcome.status = CandidateStatus.OK
    log.info("candidate %d: objective %.6g", task.id, outcome.objective)


def _properties(potential, context: EvaluationContext, objective: Objective, comm, outcome: CandidateOutcome,
                workdir: Path) -> float:
    """Compute the stage's properties; returns the objective's property term."""
    stage = context.properties
    found = compute_properties(potential, context.properties_structure, tuple(stage.structure.repeat),
                               stage.compute, comm, label=f"candidate {outcome.id}")
    outcome.properties = found.quantities
    outcome.property_problems = list(found.problems)
    term = objective.property_term(found.quantities)
    outcome.property_term = term if math.isfinite(term) else None
    data = {"quantities": found.quantities, "notes": found.notes, "problems": found.problems,
            "failed_properties": found.failed, "property_term": outcome.property_term,
            "targets": {k: v.model_dump() for k, v in stage.targets.items()}, "seconds": found.seconds}
    on_root(comm, lambda: (workdir / PROPERTIES_JSON).write_text(json.dumps(data, indent=2) + "\n"))
    outcome.artefacts["properties"] = str(workdir / PROPERTIES_JSON)
    return term


def _measure_speed(potential, context: EvaluationContext, comm, outcome: CandidateOutcome, workdir: Path) -> float:
    stage = context.speed
    settings = SpeedSettings(
        sizes_atoms=[stage.size_atoms], steps=stage.steps, warmup_steps=stage.warmup_steps, repeats=stage.repeats,
        timestep_fs=stage.timestep_fs, temperature_K=stage.temperature_K, min_atoms_per_rank=stage.min_atoms_per_rank,
    )
    speed_dir = workdir / "speed"
    on_root(comm, lambda: speed_dir.mkdir(parents=True, exist_ok=True))
    reference = None
    if stage.reference is not None:
        # Timed right before the candidate by the same worker: the ratio cancels the machine's current load.
        reference = measure_speed(stage.reference.build(), settings, structure=context.speed_structure, comm=comm,
                                  seed=context.seed, log_dir=speed_dir / "reference")
    report = measure_speed(potential, settings, structure=context.speed_structure, comm=comm, seed=context.seed,
                           log_dir=speed_dir)
    point = report.points[0]
    per_core = point.atom_steps_per_s_per_core["median"]
    outcome.speed_per_core = per_core
    outcome.conditions = {
        "mode": context.mode, "ranks": point.ranks, "cores_per_candidate": context.cores,
        "concurrent_candidates": context.concurrent, "natoms": point.natoms, "steps": point.steps,
        "repeats": len(point.wall_s), "relative_spread": point.relative_spread, "host": socket.gethostname(),
        "statistic": "median over repeats, wall clock",
    }
    if reference is not None:
        reference_per_core = reference.points[0].atom_steps_per_s_per_core["median"]
        outcome.reference_speed_per_core = reference_per_core
        outcome.relative_speed = per_core / reference_per_core
        outcome.conditions["reference"] = reference.potential
        cost = reference_per_core / per_core
    else:
        cost = 1e6 / per_core
    outcome.cost = cost
    data = {"candidate": report.to_dict(), "reference": reference.to_dict() if reference else None,
            "conditions": outcome.conditions, "cost": cost}
    on_root(comm, lambda: (workdir / SPEED_JSON).write_text(json.dumps(data, indent=2, default=str) + "\n"))
    outcome.artefacts["speed"] = str(workdir / SPEED_JSON)
    return cost


def _screen(potential, context: EvaluationContext, comm, required: float | None, workdir: Path):
    stage = context.survival
    settings = stage.settings()
    reference = None if settings.thresholds.reference_min_distance_A else context.data.full.structures
    workers = stage.workers
    if workers is None:  # worker processes only pay off with more than one core
        workers = context.cores if context.cores > 1 else 0
    parallel: dict[str, Any] = {"comm": comm} if comm is not None else {"workers": workers}
    report = run_survival(
        potential, settings, structures=context.survival_structures, min_survival_fraction=required,
        seed=context.seed, reference_structures=reference, log_dir=workdir / "survival",
        structure_dir=workdir / "extrapolation", **parallel,
    )
    on_root(comm, lambda: report.write_json(workdir / SURVIVAL_JSON))
    return report
