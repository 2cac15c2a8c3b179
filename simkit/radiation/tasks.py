"""Independent tasks of a study (one direction's scan, one cascade), journalled one file each, resumable.

A task's result is written atomically to ``results_dir/<key>.json`` by
whoever ran it, the moment it finishes; a killed study loses only the tasks
that were running. A task that fails is reported (its error, in the returned
results) but leaves no file, so ``--resume`` tries it again.

Where tasks run:

- under ``mpirun -np N`` with ``ranks_per_task`` 1: each rank runs every N-th
  pending task on a one-rank communicator; a LAMMPS error stays on its rank,
  where it is an exception, so no rank waits on another's failure;
- under mpirun with ``ranks_per_task`` 0 (all): one task at a time on the
  whole communicator (a cascade too large for one rank); an error ends the
  study on every rank (every rank raises it);
- without mpirun: ``workers`` processes (``spawn``: each starts LAMMPS afresh),
  or in this process when ``workers`` is 0 or there is one task. A worker that
  dies (a segfault) fails the tasks still queued; ``--resume`` reruns them.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from simkit.errors import InputDataError, RunFailed
from simkit.runtime.files import atomic_write_text
from simkit.runtime.mpi import available_cores, on_all_ranks, rank_of, size_of

log = logging.getLogger(__name__)

TaskFunction = Callable[["Task", Any], dict]


@dataclass(frozen=True)
class Task:
    key: str  # unique within the study and safe as a file name
    payload: Any  # picklable


def read_result(results_dir: Path, key: str) -> dict | None:
    path = results_dir / f"{key}.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputDataError(f"{path}: unreadable task result ({exc}); delete it to run the task again") from exc


def _write(results_dir: Path, key: str, result: dict) -> None:
    atomic_write_text(results_dir / f"{key}.json", json.dumps(result, indent=1, default=float) + "\n")


def _run_one(fn: TaskFunction, task: Task, comm, results_dir: Path) -> dict:
    try:
        result = fn(task, comm)
    except Exception as exc:  # noqa: BLE001 - one failed task must not stop the others
        log.warning("task %s failed: %s: %s", task.key, type(exc).__name__, exc)
        return {"key": task.key, "status": "error", "error": f"{type(exc).__name__}: {exc}"}
    result = {"key": task.key, "status": "done", **result}
    _write(results_dir, task.key, result)
    return result


def _in_process(fn: TaskFunction, task: Task, results_dir: Path) -> dict:
    return _run_one(fn, task, None, results_dir)


def run_tasks(fn: TaskFunction, tasks: list[Task], results_dir: Path, *, comm=None, workers: int | None = None,
              ranks_per_task: int = 1) -> dict[str, dict]:
    """Run the tasks without a result file; returns every task's result (old and new) by key, on every rank.

    ``fn(task, comm)`` must be a module-level function (workers import it) and
    return a JSON-ready dict; ``comm`` is the communicator it runs LAMMPS on
    (None: LAMMPS's own, in a worker process).
    """
    results_dir.mkdir(parents=True, exist_ok=True)
    done = {t.key: r for t in tasks if (r := read_result(results_dir, t.key)) is not None}
    pending = [t for t in tasks if t.key not in done]
    size = size_of(comm)
    if size > 1 and ranks_per_task == 1:
        fresh = _on_ranks(fn, pending, results_dir, comm)
    elif size > 1:
        fresh = {}
        for task in pending:
            fresh[task.key] = on_all_ranks(comm, lambda task=task: _strict(fn, task, comm, results_dir))
    else:
        fresh = _in_processes(fn, pending, results_dir, workers)
    return {t.key: done.get(t.key) or fresh[t.key] for t in tasks}


def _strict(fn: TaskFunction, task: Task, comm, results_dir: Path) -> dict:
    result = {"key": task.key, "status": "done", **fn(task, comm)}
    if rank_of(comm) == 0:
        _write(results_dir, task.key, result)
    return result


def _on_ranks(fn: TaskFunction, pending: list[Task], results_dir: Path, comm) -> dict[str, dict]:
    rank, size = rank_of(comm), size_of(comm)
    solo = comm.Split(color=rank, key=0)
    try:
        own = {t.key: _run_one(fn, t, solo, results_dir) for t in pending[rank::size]}
    finally:
        solo.Free()
    merged: dict[str, dict] = {}
    for chunk in comm.allgather(own):
        merged.update(chunk)
    return merged


def _in_processes(fn: TaskFunction, pending: list[Task], results_dir: Path, workers: int | None) -> dict[str, dict]:
    count = available_cores() if workers is None else workers
    count = min(count, len(pending))
    if count <= 1:
        return {t.key: _run_one(fn, t, None, results_dir) for t in pending}
    results: dict[str, dict] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        futures = {pool.submit(_in_process, fn, t, results_dir): t for t in pending}
        for future in as_completed(futures):
            task = futures[future]
            try:
                results[task.key] = future.result()
            except BrokenProcessPool:
                results[task.key] = {"key": task.key, "status": "error",
                                     "error": "a worker process died (signal or out of memory); --resume reruns it"}
    return results


def raise_failed(results: dict[str, dict], what: str) -> None:
    """Raise if any task failed (up to three of them named): for tasks the next step cannot go without."""
    failed = {k: r["error"] for k, r in results.items() if r.get("status") != "done"}
    if failed:
        shown = "; ".join(f"{k}: {e}" for k, e in list(failed.items())[:3])
        raise RunFailed(f"{len(failed)} {what} task(s) failed ({shown}); fix the cause and run again with --resume")
