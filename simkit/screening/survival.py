"""Survival screens: what fraction of high-temperature MD runs with a potential complete?

:func:`run_survival` is the library entry point the optimiser calls; ``simkit
survive`` (:mod:`simkit.screening.jobs`) is a thin layer over it. A screen runs
``replicas`` velocity seeds at each temperature on cells replicated from the
given structures (replica k uses structure k mod len(structures)), in parallel
on worker processes or on the ranks of a communicator, and ends with a
:class:`~simkit.screening.report.SurvivalReport`. Hotter replicas start first,
so that with an early stop the likely failures are found soonest. A replica's
result depends only on the screen and its index, so replicas finished in an
earlier session (``done``, read back from a journal) are kept and the rest run.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from ase import Atoms

from simkit import errors
from simkit.errors import ConfigError, RunFailed
from simkit.lammps.potentials.base import Potential
from simkit.runtime.mpi import available_cores, world
from simkit.screening.detection import resolve_limits
from simkit.screening.replica import ReplicaResult, ReplicaStatus, ReplicaTask
from simkit.screening.report import SurvivalReport
from simkit.screening.scheduling import EarlyStop, cancelled, run_in_processes, run_on_communicator
from simkit.screening.settings import SurvivalSettings
from simkit.structures.geometry import replication_for, replication_problem

log = logging.getLogger(__name__)


def replicate_to(atoms: Atoms, target_atoms: int) -> Atoms:
    """``atoms`` repeated along its periodic directions to at least ``target_atoms`` atoms."""
    if target_atoms <= len(atoms):
        return atoms.copy()
    problem = replication_problem(atoms, target_atoms)
    if problem:
        raise ConfigError(f"{problem}; lower target_atoms or give a periodic cell")
    return atoms.repeat(replication_for(atoms, target_atoms))


def build_tasks(settings: SurvivalSettings, cells: Sequence[Atoms], seed: int) -> list[ReplicaTask]:
    """One task per (temperature, replica), with independent velocity seeds drawn from ``seed``.

    Task ``index`` gets the ``index``-th word of ``SeedSequence(seed)``: the same in every session of a
    screen, which is what lets a resumed screen keep the replicas it journalled.
    """
    seeds = np.random.SeedSequence(seed).generate_state(settings.replica_count, dtype=np.uint32)
    tasks = []
    for t_index, temperature in enumerate(settings.temperatures_K):
        for replica in range(settings.replicas):
            index = t_index * settings.replicas + replica
            structure_index = replica % len(cells)
            tasks.append(ReplicaTask(
                index=index, temperature_K=float(temperature), replica=replica, structure_index=structure_index,
                seed=int(seeds[index]), atoms=cells[structure_index],
            ))
    return tasks


def _earlier_results(tasks: Sequence[ReplicaTask], done: Sequence[ReplicaResult]) -> dict[int, ReplicaResult]:
    """``done`` by index, each checked against the task of that index (a result of another screen is refused)."""
    by_index = {task.index: task for task in tasks}
    kept: dict[int, ReplicaResult] = {}
    for result in done:
        if result.status not in (ReplicaStatus.SURVIVED, ReplicaStatus.FAILED):
            raise ValueError(f"replica {result.index} did not finish ({result.status}); only finished ones are kept")
        task = by_index.get(result.index)
        if task is None or (task.seed, task.temperature_K, len(task.atoms)) != (
                result.seed, result.temperature_K, result.natoms):
            raise ConfigError(f"replica {result.index} finished earlier belongs to another screen (its seed, "
                              "temperature or cell differ from this one's); start the screen again")
        kept[result.index] = result
    return kept


def _raise_setup_error(results: Sequence[ReplicaResult]) -> None:
    broken = [r for r in results if r.status == ReplicaStatus.ERROR]
    if not broken:
        return
    first = broken[0]
    kind = getattr(errors, first.error_type or "", None)
    kind = kind if isinstance(kind, type) and issubclass(kind, errors.SimkitError) else RunFailed
    message = f"survival replica {first.index} (T = {first.temperature_K:g} K) could not run: {first.message}"
    if kind is errors.LammpsError:
        raise errors.LammpsError(message)
    raise kind(message)


def run_survival(
    potential: Potential,
    settings: SurvivalSettings,
    *,
    structures: Sequence[Atoms],
    workers: int | None = None,
    comm=None,
    min_survival_fraction: float | None = None,
    seed: int = 0,
    reference_structures: Sequence[Atoms] | None = None,
    log_dir: Path | None = None,
    structure_dir: Path | None = None,
    done: Sequence[ReplicaResult] = (),
    on_result: Callable[[ReplicaResult], None] | None = None,
) -> SurvivalReport:
    """Run a survival screen of ``potential`` and return its report.

    Parallelism: give ``comm`` (an mpi4py communicator, e.g. a sub-communicator
    of the optimiser; collective over it) to spread replicas over its ranks, one
    rank per replica; otherwise ``workers`` spawned processes run them
    (default: the cores available; 0 runs them one after another in this
    process). ``min_survival_fraction`` enables the early stop.
    ``reference_structures`` (e.g. the training set) set r_min unless
    ``settings.thresholds.reference_min_distance_A`` is given; by default the
    starting ``structures`` do. ``log_dir`` keeps one LAMMPS log per replica;
    ``structure_dir`` receives the cell of each replica that failed by extrapolation
    (``settings.thresholds.max_gamma``).

    Resuming: ``done`` holds replicas that survived or failed in an earlier
    session of this screen; they are kept as they are, count towards the early
    stop, and do not run again. ``on_result`` is called once for every replica
    that ends in this call, as it ends, in the process that collects results
    (this one with worker processes, rank 0 of ``comm`` under MPI): the place
    to journal it.

    Raises :class:`~simkit.errors.RunFailed` (or the error's own class) only when
    a replica could not even start; failing replicas are results, not errors.
    """
    if not structures:
        raise ConfigError("a survival screen needs at least one starting structure")
    if comm is not None and workers is not None:
        raise ValueError("give either comm (MPI ranks) or workers (processes), not both")
    started = time.perf_counter()
    cells = [replicate_to(atoms, settings.target_atoms) for atoms in structures]
    limits = resolve_limits(
        settings.thresholds, potential_cutoff_A=potential.cutoff_A, starting_cells=cells,
        reference_structures=reference_structures, npt=settings.ensemble == "npt",
    )
    tasks = build_tasks(settings, cells, seed)
    earlier = _earlier_results(tasks, done)
    pending = sorted((t for t in tasks if t.index not in earlier), key=lambda t: (-t.temperature_K, t.replica))
    early_stop = EarlyStop(len(tasks), min_survival_fraction)
    for result in earlier.values():
        early_stop.record(result)
    if log_dir is not None:
        Path(log_dir).mkdir(parents=True, exist_ok=True)

    def ended(result: ReplicaResult) -> None:
        where = ""
        if result.status == ReplicaStatus.FAILED:
            when = "" if result.failure_time_ps is None else f" at {result.failure_time_ps:.3f} ps"
            where = f" ({result.mode}{when}: {result.message})"
        log.info("replica %d, T = %g K, #%d: %s%s", result.index, result.temperature_K, result.replica,
                 result.status, where)
        if on_result is not None:
            on_result(result)

    if comm is None and workers == 0:
        comm = _self_communicator()
    if comm is not None:
        parallel = {"mode": "mpi" if comm.Get_size() > 1 else "in-process", "ranks": comm.Get_size()}
    else:
        count = min(workers or available_cores(), len(tasks))
        parallel = {"mode": "processes", "workers": count}
    if not pending:
        fresh = []
    elif early_stop.triggered:  # by the failures journalled earlier: nothing left to run can change the verdict
        fresh = [cancelled(task) for task in pending]
        if comm is None or comm.Get_rank() == 0:
            for result in fresh:
                ended(result)
    elif comm is not None:
        fresh = run_on_communicator(
            pending, potential, settings, limits, comm=comm, early_stop=early_stop, log_dir=log_dir,
            structure_dir=structure_dir, on_result=ended,
        )
    else:
        fresh = run_in_processes(
            pending, potential, settings, limits, workers=count, early_stop=early_stop, log_dir=log_dir,
            structure_dir=structure_dir, on_result=ended,
        )
    _raise_setup_error(fresh)
    results = sorted([*earlier.values(), *fresh], key=lambda r: r.index)
    return SurvivalReport(
        replicas=results,
        settings=settings.model_dump(mode="json"),
        limits=dataclasses.asdict(limits),
        potential=potential.describe(),
        seed=seed,
        parallel=parallel,
        min_survival_fraction=min_survival_fraction,
        wall_s=time.perf_counter() - started,
        extra={"starting_cells": [{"natoms": len(c), "formula": c.get_chemical_formula()} for c in cells]},
    )


def _self_communicator():
    world()  # initialises MPI (a singleton when not launched by mpirun)
    from mpi4py import MPI  # lazy: only after world() above has initialised MPI the simkit way

    return MPI.COMM_SELF
