"""``simkit optimise``: a run directory, its journal, a scheduler, and the results.

:func:`run_optimisation` opens (or continues) the run in ``output_dir``:
rank 0 takes the directory's lock, checks that the journal's definition (search
space, fit, objective, stages, seed, optimiser) matches the config, marks
candidates of a killed session as lost, and then candidates are evaluated k at
a time until the budget of finished candidates is reached. Every session ends
by regenerating the tables, figures and ``best/`` from the journal, so
re-running a finished run only does that. Without MPI (or on one rank) the
candidates run on worker processes; under ``mpirun -np N`` on k groups of N/k
ranks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from simkit.config import load_config, validate_config
from simkit.datasets.splits import prepare_data
from simkit.errors import ConfigError
from simkit.fitting.candidate import fit_and_score
from simkit.fitting.deployed import POTENTIAL_FILE, read_potential_yaml
from simkit.fitting.registry import with_overrides
from simkit.optimise import plots, results
from simkit.optimise.config import OptimiseConfig
from simkit.optimise.coordinator import Coordinator
from simkit.optimise.evaluate import EvaluationContext
from simkit.optimise.journal import JOURNAL_FILE, Journal
from simkit.optimise.mpi_pool import run_with_mpi
from simkit.optimise.objective import CandidateStatus
from simkit.optimise.pool import run_with_processes
from simkit.optimise.proposer import Proposer
from simkit.optimise.results import BEST_DIR
from simkit.optimise.space import SearchSpace, check_search_space, search_space_of
from simkit.runtime.files import atomic_write_text
from simkit.runtime.hashing import sha256_file
from simkit.runtime.mpi import available_cores, on_root, rank_of, size_of
from simkit.runtime.provenance import RunRecord
from simkit.runtime.versions import package_versions
from simkit.screening.config import load_frames
from simkit.structures.spec import load_structure

log = logging.getLogger(__name__)

CONFIG_FILE = "optimise_config.json"
UPFIT_DIR = "upfit"


def load_optimise_config(path: str | Path, overrides: dict[str, Any] | None = None) -> OptimiseConfig:
    """Read and validate an optimise config, the search space checked against the fit config."""
    config = load_config(OptimiseConfig, path, overrides)
    check_search_space(search_space_of(config, str(path)), config.fit, str(path))
    return config


def config_from_run_dir(run_dir: str | Path) -> OptimiseConfig:
    """The config a run directory was started with (for ``--resume RUN_DIR``)."""
    run_dir = Path(run_dir).resolve()
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir}: not an optimisation run directory (no {CONFIG_FILE})")
    data = json.loads(path.read_text())
    data["output_dir"] = str(run_dir)  # the directory may have moved since
    config = validate_config(OptimiseConfig, data, source=str(path), base_dir=run_dir)
    check_search_space(search_space_of(config, str(path)), config.fit, str(path))
    return config


def _file_hashes(value: Any) -> Any:
    """Replace paths of existing files by their name and SHA-256: moving inputs is fine, changing them is not."""
    if isinstance(value, dict):
        return {k: _file_hashes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_file_hashes(v) for v in value]
    if isinstance(value, str) and value.startswith("/") and Path(value).is_file():
        return {"file": Path(value).name, "sha256": sha256_file(Path(value))}
    return value


def run_definition(config: OptimiseConfig) -> tuple[dict, str]:
    """What makes candidates of a run comparable, and its fingerprint (budget and parallelism may change)."""
    data = config.model_dump(mode="json", include={"seed", "fit", "search_space", "objective", "speed",
                                                   "survival", "optimiser"})
    data["fit"].pop("output_dir", None)
    data = _file_hashes(data)
    text = json.dumps(data, sort_keys=True)
    return data, hashlib.sha256(text.encode()).hexdigest()


def parallelism(config: OptimiseConfig, world, remaining: int) -> tuple[int, int, str]:
    """(candidates at once k, cores or ranks per candidate, mode)."""
    if world is not None:
        size = world.Get_size()
        k = config.parallel.candidates or size
        if size % k:
            raise ConfigError(f"parallel.candidates = {k} does not divide the {size} MPI ranks into equal groups")
        return k, size // k, "mpi"
    cores = available_cores()
    k = max(1, min(config.parallel.candidates or cores, remaining))
    if k > cores:
        log.warning("parallel.candidates = %d on %d cores: candidates share cores and their speeds suffer", k, cores)
    return k, max(1, cores // k), "processes"


def build_context(config: OptimiseConfig, *, cores: int, concurrent: int, mode: str) -> EvaluationContext:
    """Read and split the data once, build the speed and survival cells (shared by every candidate)."""
    fit = config.fit
    data = prepare_data(fit.data, fit.elements, fit.seed)
    rng = np.random.default_rng(config.seed)
    speed_structure = load_structure(config.speed.structure, rng) if config.speed else None
    survival_structures = None
    if config.survival is not None:
        stage = config.survival
        survival_structures = [load_structure(stage.structure, rng)] if stage.structure else load_frames(stage.frames)
    return EvaluationContext(
        fit=fit, data=data, objective=config.objective, alpha=config.alpha, force_loss=config.force_loss,
        seed=config.seed,
        speed=config.speed, speed_structure=speed_structure, survival=config.survival,
        survival_structures=survival_structures, cores=cores, concurrent=concurrent, mode=mode,
        properties=config.properties,
        properties_structure=load_structure(config.properties.structure, rng) if config.properties else None,
    )


def _input_files(config: OptimiseConfig) -> list[Path]:
    files = list(config.fit.data.train)
    if config.fit.data.validation.kind == "file":
        files += list(config.fit.data.validation.path)
    return files


def run_optimisation(config: OptimiseConfig, *, comm=None, source: str = "config", budget: int | None = None) -> dict:
    """Run (or continue) the optimisation of ``config``; returns the run summary (rank 0's, on every rank).

    ``comm``: the MPI communicator (None or one rank: worker processes);
    ``budget`` overrides ``budget.candidates`` (e.g. to extend a finished run).
    """
    world = comm if comm is not None and comm.Get_size() > 1 else None
    rank = rank_of(world)
    size = size_of(world)
    space = search_space_of(config, source)
    check_search_space(space, config.fit, source)
    total = int(budget or config.budget.candidates)
    run_dir = Path(config.output_dir).resolve()
    opened: dict[str, Any] = {}

    def open_run() -> dict:
        run_dir.mkdir(parents=True, exist_ok=True)
        journal = Journal(run_dir)
        try:
            definition, fingerprint = run_definition(config)
            new = journal.adopt_definition(definition, fingerprint)
            lost = journal.mark_lost()
            atomic_write_text(run_dir / CONFIG_FILE, json.dumps(config.model_dump(mode="json"), indent=2) + "\n")
        except BaseException:
            journal.close()
            raise
        opened["journal"] = journal
        return {"new": new, "lost": lost, "finished": len(journal.finished()), "fingerprint": fingerprint}

    state = on_root(world, open_run)
    journal: Journal | None = opened.get("journal")
    if state["lost"]:
        log.warning("candidates %s were running when the last session ended; they are lost and not counted",
                    state["lost"])
    if not state["new"]:
        log.info("continuing the run in %s: %d of %d candidates finished", run_dir, state["finished"], total)
    record = RunRecord("optimise", run_dir, config, rank=rank, mpi_size=size, seeds={"optimiser": config.seed},
                       inputs=_input_files(config))
    context = None
    try:
        with record:
            if state["finished"] < total:
                context = _evaluate_candidates(config, space, journal, world, total, run_dir, record, state)
            summary = on_root(world, lambda: _results(config, space, journal, run_dir, record, state, total))
            if config.final_upfit is not None and summary.get("best_id") is not None:
                upfit = _final_upfit(config, summary, run_dir, world, context)
                record.add_result("final_upfit", upfit)
            record.add_result("summary", summary)
    finally:
        if journal is not None:
            journal.close()
    return on_root(world, lambda: record.data)


def _evaluate_candidates(config, space, journal, world, total, run_dir, record, state) -> EvaluationContext:
    k, cores, mode = parallelism(config, world, total - state["finished"])
    # Every rank reads the inputs: under mpirun ASE's readers are collective over MPI_COMM_WORLD.
    context = build_context(config, cores=cores, concurrent=k, mode=mode)
    session = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "mode": mode,
               "candidates_at_once": k, "cores_or_ranks_per_candidate": cores,
               "finished_before": state["finished"], "lost": state["lost"]}
    record.add_result("session", session)
    log.info("%d candidate(s) at once, %d %s each (%s)", k, cores, "ranks" if mode == "mpi" else "cores", mode)
    made: dict[str, Coordinator] = {}

    def make_coordinator() -> None:
        journal.set_meta("sessions", (journal.meta("sessions") or []) + [session])
        deadline = None
        if config.budget.wall_time_min is not None:
            deadline = time.monotonic() + 60.0 * config.budget.wall_time_min
        proposer = Proposer(space, config.optimiser, config.seed)
        made["coordinator"] = Coordinator(journal, space, proposer, budget=total, deadline=deadline,
                                          progress=config.progress)

    on_root(world, make_coordinator)  # a failure here reaches every rank before any waits for tasks
    coordinator = made.get("coordinator")
    try:
        if world is not None:
            run_with_mpi(coordinator, context, world, k)
        else:
            run_with_processes(coordinator, context, k)
    finally:
        if coordinator is not None:
            coordinator.close()
            if coordinator.stop_reason:
                record.add_result("stopped", coordinator.stop_reason)
    return context


def _results(config: OptimiseConfig, space: SearchSpace, journal: Journal, run_dir: Path, record, state,
             total: int) -> dict:
    rows = journal.rows()
    has_reference = config.speed is not None and config.speed.reference is not None
    axes = results.pareto_axes(config.speed is not None, config.survival is not None,
                               config.properties is not None and config.properties.weighted)
    front = results.pareto_ids(rows, axes)
    best = results.best_row(rows)
    best_id = best["id"] if best else None
    energy_force = results.energy_force_front(rows)
    table = results.candidate_table(rows, names=space.names, has_reference=has_reference, front=front,
                                    best_id=best_id, energy_force_ids={entry["id"] for entry in energy_force})
    attributes = {"config": json.dumps(config.model_dump(mode="json")), "fingerprint": state["fingerprint"]}
    csv_path, h5_path = results.write_tables(table, run_dir, attributes)
    scale = "log10 " if config.objective.scale == "log" else ""
    plots.plot_convergence(rows, run_dir / results.CONVERGENCE_PNG, initial_points=config.optimiser.initial_points,
                           objective_label=f"objective ({scale}scale; smaller is better)")
    cost_label = ("cost = reference speed / speed" if has_reference else "cost (core-µs per atom-step)")
    plots.plot_pareto(rows, run_dir / results.PARETO_PNG, front=front, best_id=best_id, axes_names=axes,
                      cost_label=cost_label)
    results.write_energy_force_front(energy_force, run_dir / results.PARETO_ENERGY_FORCES_CSV, names=space.names,
                                     best_id=best_id)
    plots.plot_energy_forces(rows, run_dir / results.PARETO_ENERGY_FORCES_PNG, front=energy_force, best_id=best_id,
                             errors_of=results.energy_force_errors)
    for name, path in (("journal", run_dir / JOURNAL_FILE), ("table_csv", csv_path), ("table_h5", h5_path),
                       ("convergence_plot", run_dir / results.CONVERGENCE_PNG),
                       ("pareto_plot", run_dir / results.PARETO_PNG),
                       ("pareto_energy_forces_csv", run_dir / results.PARETO_ENERGY_FORCES_CSV),
                       ("pareto_energy_forces_plot", run_dir / results.PARETO_ENERGY_FORCES_PNG),
                       ("config", run_dir / CONFIG_FILE)):
        record.add_output(name, path)
    counts = {status: sum(r["status"] == status for r in rows) for status in (CandidateStatus.OK, CandidateStatus.PRUNED, CandidateStatus.INFEASIBLE, CandidateStatus.FAILED)}
    summary: dict[str, Any] = {
        "candidates": counts, "finished": sum(counts.values()), "budget": total, "pareto_front": sorted(front),
        "best_id": best_id,
        "energy_force_pareto": [{k: entry[k] for k in ("id", *results.ENERGY_FORCE_AXES)} for entry in energy_force],
    }
    if best is None:
        log.warning("no candidate is feasible and fully measured yet: no best potential to export")
        return summary
    provenance = {
        "config": config.model_dump(mode="json"), "fingerprint": state["fingerprint"],
        "data": [{"path": str(p), "sha256": sha256_file(p)} for p in _input_files(config)],
        "versions": package_versions(), "run_dir": str(run_dir),
    }
    best_dir = results.export_best(best, run_dir, provenance)
    record.add_output("best", best_dir)
    record.data["potentials"] = [read_potential_yaml(best_dir / POTENTIAL_FILE).describe()]
    summary.update(best_objective=best["objective"], best_loss=best["loss"], best_params=best["params"],
                   best_speed_atom_steps_per_s_per_core=best["speed_per_core"], best_survival=best["survival"])
    log.info("best: candidate %d, objective %.6g, loss %.4g, %s -> %s", best_id, best["objective"], best["loss"],
             best["params"], best_dir)
    return summary


def _final_upfit(config: OptimiseConfig, summary: dict, run_dir: Path, world, context) -> dict:
    """Refit the best ACE candidate with the extra upfit stages into best/upfit (once per best candidate)."""
    target = run_dir / BEST_DIR / UPFIT_DIR
    marker = target / "upfit.json"
    done = on_root(world, lambda: json.loads(marker.read_text()) if marker.is_file() else None)
    if done is not None and done.get("best_id") == summary["best_id"]:
        return done
    base = with_overrides(config.fit, summary["best_params"])
    stages = [s.model_dump(mode="json", exclude_none=True) for s in base.ace.upfit + config.final_upfit.stages]
    upfit_config = with_overrides(base, {"ace.upfit": stages, "scoring.alpha": config.alpha,
                                         "scoring.force_loss": config.force_loss, "output_dir": str(target)})
    data = context.data if context is not None else None
    cores = context.cores * context.concurrent if context is not None else available_cores()
    log.info("final upfit of candidate %d: %d extra stage(s)", summary["best_id"], len(config.final_upfit.stages))
    result = fit_and_score(upfit_config, target, data=data, comm=world, cores=cores)
    upfit = {"best_id": summary["best_id"], "loss": result.loss, "candidate_loss": summary["best_loss"],
             "stages": stages, "potential": result.potential}
    on_root(world, lambda: marker.write_text(json.dumps(upfit, indent=2, default=str) + "\n"))
    log.info("upfit: validation loss %.4g (candidate %.4g) -> %s", result.loss, summary["best_loss"], target)
    return upfit
