"""k candidates at once inside one ``mpirun -np N`` allocation: MPI_COMM_WORLD split into k groups.

Group g holds world ranks [g N/k, (g + 1) N/k); its rank 0 leads it. A leader
asks world rank 0 for a task (sending the outcome of its previous one),
broadcasts the task to its group, and the whole group evaluates it: LAMMPS runs
(descriptors, scoring, speed) on the group's N/k ranks, survival replicas one
per rank. World rank 0 leads group 0 on its main thread and runs the
coordinator (journal, optimiser, progress bar) on a second thread, so a long
candidate of group 0 never keeps other groups waiting for their next task;
MPI must therefore provide MPI_THREAD_MULTIPLE (mpi4py asks for it, MPICH
provides it). Waiting ranks sleep between polls rather than spinning in MPI
calls, so they leave the cores to groups still working.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import nullcontext
from pathlib import Path

from simkit.errors import BackendSetupError, ConfigError
from simkit.optimise.coordinator import Coordinator
from simkit.optimise.evaluate import CandidateTask, EvaluationContext, evaluate_candidate
from simkit.optimise.pool import _CandidateLog
from simkit.runtime.mpi import on_root

log = logging.getLogger(__name__)

_REQUEST_TAG = 7401
_REPLY_TAG = 7402
_POLL_S = 0.05


def split_world(world, groups: int):
    """The sub-communicator of this rank's group (k = ``groups`` equal groups of consecutive ranks)."""
    size = world.Get_size()
    if groups < 1 or size % groups:
        raise ConfigError(
            f"parallel.candidates = {groups} does not divide the {size} MPI ranks into equal groups; "
            f"use a divisor of {size}"
        )
    return world.Split(color=world.Get_rank() // (size // groups), key=world.Get_rank())


def _wait(request) -> None:
    while not request.Test():
        time.sleep(_POLL_S)


def _receive(comm, source: int, tag: int):
    while not comm.iprobe(source=source, tag=tag):
        time.sleep(_POLL_S)
    return comm.recv(source=source, tag=tag)


class _CoordinatorThread(threading.Thread):
    """Answers the group leaders' requests on world rank 0 until every leader has been told to stop."""

    def __init__(self, coordinator: Coordinator, ctrl, leaders: int):
        super().__init__(name="simkit-optimise-coordinator", daemon=True)
        self.coordinator = coordinator
        self.ctrl = ctrl
        self.leaders = leaders
        self.error: BaseException | None = None

    def run(self) -> None:
        # lazy: importing mpi4py.MPI initialises MPI; only code running on a communicator gets here
        from mpi4py import MPI

        active, sends = self.leaders, []
        while active:
            status = MPI.Status()
            if not self.ctrl.iprobe(source=MPI.ANY_SOURCE, tag=_REQUEST_TAG, status=status):
                time.sleep(_POLL_S)
                continue
            source = status.Get_source()
            outcome = self.ctrl.recv(source=source, tag=_REQUEST_TAG)
            task = None
            if self.error is None:
                try:
                    if outcome is not None:
                        self.coordinator.finish(outcome)
                    task = self.coordinator.next_task()
                except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread; leaders are stopped
                    self.error = exc
                    task = None
            sends.append(self.ctrl.isend(task, dest=source, tag=_REPLY_TAG))
            if task is None:
                active -= 1
        for request in sends:
            _wait(request)


def _lead(ctrl, group, context: EvaluationContext) -> None:
    outcome = None
    while True:
        _wait(ctrl.isend(outcome, dest=0, tag=_REQUEST_TAG))
        task: CandidateTask | None = _receive(ctrl, 0, _REPLY_TAG)
        group.bcast(task, root=0)
        if task is None:
            return
        outcome = _evaluate(task, context, group)


def _follow(group, context: EvaluationContext) -> None:
    while True:
        task = group.bcast(None, root=0)
        if task is None:
            return
        _evaluate(task, context, group)


def _evaluate(task: CandidateTask, context: EvaluationContext, group):
    workdir = Path(task.workdir)
    on_root(group, lambda: workdir.mkdir(parents=True, exist_ok=True))
    if group.Get_rank() == 0:
        with _CandidateLog(workdir):
            return evaluate_candidate(task, context, comm=group)
    return evaluate_candidate(task, context, comm=group)


class _CoordinatorConsole:
    """On world rank 0 the console shows the coordinator; group 0's candidate logs go to their own files."""

    class _OnlyCoordinator(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return record.levelno >= logging.WARNING or record.threadName != threading.main_thread().name

    def __init__(self) -> None:
        self.filter = self._OnlyCoordinator()
        self.handlers = [h for h in logging.getLogger("simkit").handlers if not isinstance(h, logging.FileHandler)]

    def __enter__(self):
        for handler in self.handlers:
            handler.addFilter(self.filter)
        return self

    def __exit__(self, *exc) -> None:
        for handler in self.handlers:
            handler.removeFilter(self.filter)


def run_with_mpi(coordinator: Coordinator | None, context: EvaluationContext, world, groups: int) -> None:
    """Evaluate candidates on ``groups`` sub-communicators of ``world`` (collective over ``world``).

    ``coordinator`` is given on world rank 0 only.
    """
    # lazy: importing mpi4py.MPI initialises MPI; only code running on a communicator gets here
    from mpi4py import MPI

    if MPI.Query_thread() < MPI.THREAD_MULTIPLE:
        raise BackendSetupError(
            "simkit optimise under mpirun needs MPI_THREAD_MULTIPLE (the coordinator runs on a thread of rank 0); "
            "this MPI provides less"
        )
    group = split_world(world, groups)
    ctrl = world.Dup()  # the coordinator's messages never meet LAMMPS's or the groups'
    thread = None
    try:
        console = _CoordinatorConsole() if world.Get_rank() == 0 else nullcontext()
        with console:
            if world.Get_rank() == 0:
                thread = _CoordinatorThread(coordinator, ctrl, groups)
                thread.start()
            if group.Get_rank() == 0:
                _lead(ctrl, group, context)
            else:
                _follow(group, context)
            if thread is not None:
                thread.join()
        _wait(world.Ibarrier())
    finally:
        group.Free()
        ctrl.Free()
    if thread is not None and thread.error is not None:
        raise thread.error
