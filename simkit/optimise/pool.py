"""k candidates at once on worker processes (without mpirun).

Workers are started with the ``spawn`` method and live for the whole session:
each receives the run's :class:`~simkit.optimise.evaluate.EvaluationContext`
once, then one task at a time on its own queue, and sends every outcome back on
a shared one. Each is limited to its share of the cores (BLAS, OpenMP and
TensorFlow threads). A worker
that dies (segfault, out of memory) costs only its current candidate, which is
recorded as failed; a fresh worker takes its place. A worker whose parent has
gone stops at its next look at the queue instead of running on as an orphan.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import signal
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from simkit.optimise.coordinator import Coordinator
from simkit.optimise.evaluate import CANDIDATE_LOG, CandidateTask, EvaluationContext, evaluate_candidate
from simkit.runtime.mpi import without_launcher

log = logging.getLogger(__name__)

_POLL_S = 0.2
# Launcher variables a worker must not inherit (MPICH would try to join the parent's job).
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")


def _prepare_worker_environment(cores: int) -> None:
    for name in set(os.environ) - set(without_launcher(dict(os.environ))):
        del os.environ[name]  # this process's own environment, before MPI starts
    # For libraries loaded from now on and for subprocesses (pacemaker) ...
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(cores)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    # ... and for BLAS, already loaded while this worker was being unpickled.
    threadpool_limits(limits=cores)


class _CandidateLog:
    """The simkit log of one candidate, written into its directory (workers have no console)."""

    def __init__(self, workdir: Path):
        self.handler = logging.FileHandler(Path(workdir) / CANDIDATE_LOG, encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
        self.logger = logging.getLogger("simkit")

    def __enter__(self):
        self.logger.addHandler(self.handler)
        self.logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self.handler)
        self.handler.close()


def _worker_main(tasks, results, parent_pid: int, slot: int, cores: int) -> None:
    """Body of one worker: the context first, then tasks until None (or the parent is gone)."""
    _prepare_worker_environment(cores)
    context: EvaluationContext | None = None
    while os.getppid() == parent_pid:
        try:
            item = tasks.get(timeout=_POLL_S)
        except queue.Empty:
            continue
        if item is None:
            return
        if isinstance(item, EvaluationContext):
            context = item
            continue
        task: CandidateTask = item
        Path(task.workdir).mkdir(parents=True, exist_ok=True)
        with _CandidateLog(Path(task.workdir)):
            outcome = evaluate_candidate(task, context)
        results.put((slot, outcome))


class _Slot:
    def __init__(self, index: int):
        self.index = index
        self.process = None
        self.tasks = None
        self.task: CandidateTask | None = None


def run_with_processes(coordinator: Coordinator, context: EvaluationContext, workers: int) -> None:
    """Evaluate candidates on ``workers`` processes until the coordinator has nothing left."""
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    slots = [_Slot(i) for i in range(workers)]

    def start(slot: _Slot) -> None:
        slot.tasks = spawn.Queue()
        slot.process = spawn.Process(
            target=_worker_main, name=f"simkit-optimise-worker-{slot.index}",
            args=(slot.tasks, results, os.getpid(), slot.index, context.cores),
        )
        slot.process.start()
        slot.tasks.put(context)

    def assign(slot: _Slot) -> None:
        slot.task = coordinator.next_task()
        if slot.task is not None:
            if slot.process is None or not slot.process.is_alive():
                start(slot)
            slot.tasks.put(slot.task)

    previous = _stop_on_sigterm()
    interrupted = True
    try:
        for slot in slots:
            assign(slot)
        while any(slot.task is not None for slot in slots):
            try:
                index, outcome = results.get(timeout=_POLL_S)
            except queue.Empty:
                _reap(slots, coordinator, assign)
                continue
            slot = slots[index]
            if slot.task is not None and slot.task.id == outcome.id:
                slot.task = None
            coordinator.finish(outcome)
            if slot.task is None:
                assign(slot)
        interrupted = False
    finally:
        _stop(slots, wait_s=0.0 if interrupted else 10.0)
        results.cancel_join_thread()
        results.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stop_on_sigterm():
    """SIGTERM (a batch system's stop, ``kill``) raises SystemExit(143) here, so the ``finally`` above stops the
    workers at once instead of leaving them to finish their candidates as orphans; the journal keeps every
    finished candidate and a rerun continues. Returns the handler it replaced (None off the main thread)."""
    def stop(signum, frame):
        raise SystemExit(128 + signal.SIGTERM)

    try:
        return signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave the process's handling as it is
        return None


def _reap(slots: list[_Slot], coordinator: Coordinator, assign) -> None:
    for slot in slots:
        if slot.task is None or slot.process is None or slot.process.is_alive():
            continue
        reason = f"worker process {slot.process.pid} died with exit code {slot.process.exitcode}"
        log.warning("candidate %d: %s", slot.task.id, reason)
        coordinator.fail(slot.task.id, reason)
        slot.task, slot.process = None, None
        assign(slot)


def _stop(slots: list[_Slot], wait_s: float) -> None:
    for slot in slots:
        if slot.process is not None and slot.process.is_alive():
            slot.tasks.put(None)
    deadline = time.monotonic() + wait_s
    for slot in slots:
        if slot.process is not None:
            slot.process.join(timeout=max(0.0, deadline - time.monotonic()))
    for slot in slots:
        if slot.process is not None and slot.process.is_alive():  # our own children, by handle
            slot.process.terminate()
            slot.process.join(timeout=5.0)
        if slot.tasks is not None:
            slot.tasks.cancel_join_thread()
            slot.tasks.close()
