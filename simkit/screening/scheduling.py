"""Run many replicas at once: a pool of worker processes, or the ranks of a communicator.

Without MPI, :func:`run_in_processes` starts ``workers`` processes with the
``spawn`` method; each imports simkit and runs serial LAMMPS instances (MPI
initialises as a singleton in each). Workers pull replicas from a queue, so a
replica that fails early frees its worker for the next one. A worker that dies
(segfault, out of memory) costs only its current replica, which is recorded as
``worker_crash``; a fresh worker takes its place.

Under MPI, :func:`run_on_communicator` splits the given communicator into
one-rank communicators, one per rank, and deals the replicas out round-robin.
One rank per replica keeps every LAMMPS error local to that rank, where it is a
catchable exception; a multi-rank LAMMPS that fails on one rank only can only
abort the job. Ranks tell each other about finished replicas with small
non-blocking messages, so the early stop is seen everywhere within one check
interval; a message carries the whole result, so rank 0 hears of every replica
as it ends (to journal it). Results are gathered on every rank at the end.

Both honour :class:`EarlyStop`: once the survival fraction can no longer reach
the required minimum, replicas not yet finished end as ``cancelled``.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import queue
import time
from pathlib import Path
from typing import Callable, Sequence

from simkit.lammps.potentials.base import Potential
from simkit.runtime.mpi import without_launcher
from simkit.screening.detection import FailureMode, ResolvedLimits
from simkit.screening.replica import ReplicaResult, ReplicaStatus, ReplicaTask, run_replica
from simkit.screening.settings import SurvivalSettings

log = logging.getLogger(__name__)

# Launcher variables a worker must not inherit: with them MPICH would try to join
# the parent's MPI job instead of starting as a singleton.
_NOTICE_TAG = 7301
_POLL_S = 0.2

ResultCallback = Callable[[ReplicaResult], None]


class EarlyStop:
    """Counts failures and says when ``min_fraction`` of ``total`` can no longer survive."""

    def __init__(self, total: int, min_fraction: float | None):
        if min_fraction is not None and not 0 < min_fraction <= 1:
            raise ValueError(f"min_survival_fraction must be in (0, 1], got {min_fraction}")
        self.total = total
        self.min_fraction = min_fraction
        # Survivors needed; the small tolerance keeps 0.75 * 16 = 12, not 13, after rounding.
        needed = math.ceil(min_fraction * total - 1e-9) if min_fraction is not None else 0
        self.allowed_failures = total - needed if min_fraction is not None else None
        self.failures = 0
        self.error = False

    def record(self, result: ReplicaResult) -> None:
        self.record_status(result.status)

    def record_status(self, status: str) -> None:
        if status == ReplicaStatus.FAILED:
            self.failures += 1
        elif status == ReplicaStatus.ERROR:
            self.error = True

    @property
    def triggered(self) -> bool:
        return self.error or (self.allowed_failures is not None and self.failures > self.allowed_failures)


def cancelled(task: ReplicaTask, message: str = "cancelled before it started") -> ReplicaResult:
    """The result of a replica that never ran."""
    return ReplicaResult(
        task.index, task.temperature_K, task.replica, task.structure_index, task.seed, len(task.atoms),
        status=ReplicaStatus.CANCELLED, message=message,
    )


def _replica_files(log_dir: Path | None, structure_dir: Path | None, task: ReplicaTask) -> dict[str, Path | None]:
    """run_replica's ``log_path`` and ``structure_path`` for ``task`` (None where no directory is given)."""
    name = f"replica-{task.index:03d}-T{task.temperature_K:g}K-r{task.replica}"
    return {"log_path": Path(log_dir) / f"{name}.lammps.log" if log_dir is not None else None,
            "structure_path": Path(structure_dir) / f"{name}.extrapolation.extxyz" if structure_dir is not None else None}


# -- worker processes ----------------------------------------------------------------

def _worker_main(tasks, results, cancel, parent_pid, potential, settings, limits, log_dir, structure_dir) -> None:
    """Body of one spawned worker: run replicas from ``tasks`` until the None sentinel.

    A worker whose parent has gone (killed without a chance to clean up) stops
    at its next check instead of running on as an orphan.
    """
    for name in set(os.environ) - set(without_launcher(dict(os.environ))):
        del os.environ[name]  # this process's own environment, before MPI starts
    pid = os.getpid()

    def should_stop() -> bool:
        return cancel.is_set() or os.getppid() != parent_pid

    while os.getppid() == parent_pid:
        try:
            task = tasks.get(timeout=_POLL_S)
        except queue.Empty:
            continue
        if task is None:
            return
        results.put(("start", pid, task.index))
        if should_stop():
            results.put(("done", pid, cancelled(task)))
            continue
        try:
            result = run_replica(
                task, potential, settings, limits, should_stop=should_stop,
                **_replica_files(log_dir, structure_dir, task),
            )
        except Exception as exc:  # noqa: BLE001 - a bug must not hang the parent; report it
            result = cancelled(task)
            result.status, result.error_type, result.message = ReplicaStatus.ERROR, type(exc).__name__, str(exc)
        results.put(("done", pid, result))


def run_in_processes(
    tasks: Sequence[ReplicaTask],
    potential: Potential,
    settings: SurvivalSettings,
    limits: ResolvedLimits,
    *,
    workers: int,
    early_stop: EarlyStop,
    log_dir: Path | None = None,
    structure_dir: Path | None = None,
    on_result: ResultCallback | None = None,
) -> list[ReplicaResult]:
    """Run ``tasks`` on up to ``workers`` spawned processes; results in task order.

    ``on_result`` is called in this process once per replica, as it ends.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    context = multiprocessing.get_context("spawn")
    task_queue, result_queue, cancel = context.Queue(), context.Queue(), context.Event()
    for task in tasks:
        task_queue.put(task)
    count = min(workers, len(tasks))
    for _ in range(count):
        task_queue.put(None)
    by_index = {task.index: task for task in tasks}
    results: dict[int, ReplicaResult] = {}
    running: dict[int, int] = {}  # pid -> task index
    processes: list = []

    def start_worker() -> None:
        process = context.Process(
            target=_worker_main, name="simkit-survival-worker", daemon=True,
            args=(task_queue, result_queue, cancel, os.getpid(), potential, settings, limits, log_dir, structure_dir),
        )
        process.start()
        processes.append(process)

    def finish(result: ReplicaResult) -> None:
        results[result.index] = result
        early_stop.record(result)
        if early_stop.triggered and not cancel.is_set():
            cancel.set()
        if on_result is not None:
            on_result(result)

    def handle(message) -> None:
        kind, pid, payload = message
        if kind == "start":
            running[pid] = payload
            return
        running.pop(pid, None)
        if payload.index not in results:
            finish(payload)

    try:
        for _ in range(count):
            start_worker()
        while len(results) < len(tasks):
            try:
                handle(result_queue.get(timeout=_POLL_S))
                continue
            except queue.Empty:
                pass
            _reap_dead_workers(processes, running, results, by_index, finish, start_worker, len(tasks))
            if processes:
                continue
            # Every worker has ended: read what they sent last, then account for the rest.
            try:
                while True:
                    handle(result_queue.get(timeout=1.0))
            except queue.Empty:
                pass
            for index in sorted(set(by_index) - set(results)):
                finish(cancelled(by_index[index], "no worker left to run it"))
    finally:
        cancel.set()
        _stop_workers(processes, task_queue, result_queue)
    return [results[task.index] for task in sorted(tasks, key=lambda t: t.index)]


def _reap_dead_workers(processes, running, results, by_index, finish, start_worker, total) -> None:
    for process in list(processes):
        if process.is_alive():
            continue
        processes.remove(process)
        if process.exitcode == 0:
            continue
        index = running.pop(process.pid, None)
        if index is not None and index not in results:
            crashed = cancelled(by_index[index])
            crashed.status, crashed.mode = ReplicaStatus.FAILED, FailureMode.WORKER_CRASH
            crashed.message = f"worker process {process.pid} died with exit code {process.exitcode}"
            log.warning("replica %d: %s", index, crashed.message)
            finish(crashed)
        if len(results) + len(running) < total:
            start_worker()  # it takes the dead worker's place (and its sentinel)


def _stop_workers(processes, task_queue, result_queue) -> None:
    deadline = time.monotonic() + 10.0
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():  # only our own children, by handle
            process.terminate()
            process.join(timeout=5.0)
    for q in (task_queue, result_queue):
        q.cancel_join_thread()
        q.close()


# -- MPI ranks -------------------------------------------------------------------------

class _Notices:
    """Tells the other ranks about each finished replica and hears about theirs (``on_other``: what to do
    with a result heard of, e.g. journal it)."""

    def __init__(self, comm, early_stop: EarlyStop, on_other: ResultCallback | None = None):
        self.comm = comm
        self.early_stop = early_stop
        self.on_other = on_other
        self.sent = 0
        self.received = 0
        self._requests: list = []

    def announce(self, result: ReplicaResult) -> None:
        notice = result.to_dict()  # a few hundred bytes: the whole result, not just its status
        for rank in range(self.comm.Get_size()):
            if rank != self.comm.Get_rank():
                self._requests.append(self.comm.isend(notice, dest=rank, tag=_NOTICE_TAG))
        self.sent += 1

    def _take(self, source) -> None:
        notice = self.comm.recv(source=source, tag=_NOTICE_TAG)
        self.received += 1
        self.early_stop.record_status(notice["status"])
        if self.on_other is not None:
            self.on_other(ReplicaResult.from_dict(notice))

    def poll(self) -> bool:
        """Read waiting notices; True when the screen should stop."""
        # lazy: importing mpi4py.MPI initialises MPI; only code running on a communicator gets here
        from mpi4py import MPI

        while self.comm.iprobe(source=MPI.ANY_SOURCE, tag=_NOTICE_TAG):
            self._take(MPI.ANY_SOURCE)
        return self.early_stop.triggered

    def finish(self) -> None:
        """Receive every notice still in flight so no message outlives the screen."""
        # lazy: importing mpi4py.MPI initialises MPI; only code running on a communicator gets here
        from mpi4py import MPI

        # Keep hearing notices until every rank is here: in a blocking collective rank 0 could not
        # journal the slower ranks' results until the last one ended, and MPICH's blocking calls
        # spin on the cores those ranks need.
        everyone = self.comm.Ibarrier()
        while not everyone.Test():
            self.poll()
            time.sleep(_POLL_S)
        sent_by_rank = self.comm.allgather(self.sent)
        expected = sum(sent_by_rank) - self.sent
        while self.received < expected:
            self._take(MPI.ANY_SOURCE)
        MPI.Request.waitall(self._requests)


def run_on_communicator(
    tasks: Sequence[ReplicaTask],
    potential: Potential,
    settings: SurvivalSettings,
    limits: ResolvedLimits,
    *,
    comm,
    early_stop: EarlyStop,
    log_dir: Path | None = None,
    structure_dir: Path | None = None,
    on_result: ResultCallback | None = None,
) -> list[ReplicaResult]:
    """Run ``tasks`` on the ranks of ``comm`` (collective); every rank gets all results in task order.

    ``on_result`` is called on rank 0 only, once per replica: for its own as
    each ends, for the other ranks' as their notices arrive (within one check
    interval of rank 0's running replica, or while it waits for the others).
    """
    work = comm.Dup()  # our messages never meet the caller's
    rank, size = work.Get_rank(), work.Get_size()
    solo = work.Split(color=rank, key=0)
    collects = rank == 0 and on_result is not None
    notices = _Notices(work, early_stop, on_result if collects else None)
    own: list[ReplicaResult] = []
    try:
        for task in list(tasks)[rank::size]:
            if notices.poll():
                result = cancelled(task)
            else:
                try:
                    result = run_replica(
                        task, potential, settings, limits, comm=solo, should_stop=notices.poll,
                        **_replica_files(log_dir, structure_dir, task),
                    )
                except Exception as exc:  # noqa: BLE001 - keep the collectives below reachable
                    result = cancelled(task)
                    result.status, result.error_type, result.message = ReplicaStatus.ERROR, type(exc).__name__, str(exc)
            own.append(result)
            early_stop.record(result)
            notices.announce(result)
            if collects:
                on_result(result)
        notices.finish()
        gathered = work.allgather([r.to_dict() for r in own])
    finally:
        solo.Free()
        work.Free()
    merged = [ReplicaResult.from_dict(d) for chunk in gathered for d in chunk]
    return sorted(merged, key=lambda r: r.index)
