"""The coordinator: hands out candidates, records finished ones, tells the optimiser (world rank 0).

It is the only writer of the journal. Schedulers (worker processes or MPI
groups, see :mod:`simkit.optimise.pool` and :mod:`simkit.optimise.mpi_pool`)
ask it for the next task and hand it every outcome; it decides the value the
optimiser is told (the objective, the lower bound of a pruned candidate or a
penalty), commits the row, then tells the optimiser.
"""

from __future__ import annotations

import logging
import math
import shutil
import sys
import time
from pathlib import Path

from tqdm import tqdm

from simkit.optimise.evaluate import CandidateOutcome, CandidateTask
from simkit.optimise.journal import Journal
from simkit.optimise.objective import CandidateStatus, penalty
from simkit.optimise.proposer import Proposer
from simkit.optimise.space import SearchSpace

log = logging.getLogger(__name__)

CANDIDATES_DIR = "candidates"


def candidate_dir(run_dir: Path, cid: int) -> Path:
    return Path(run_dir) / CANDIDATES_DIR / f"c{cid:04d}"


class _BarSafeHandler(logging.Handler):
    """Writes log lines above the progress bar instead of through it."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never break the run
            self.handleError(record)


class Progress:
    """A tqdm bar on stderr: finished candidates of the budget, ETA, best so far, failures.

    Shown on a terminal only (batch logs get one line per candidate instead);
    while it is shown, simkit's console log lines are written above it.
    """

    def __init__(self, total: int, done: int, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.bar = tqdm(total=total, initial=min(done, total), desc="optimise", unit="cand", file=sys.stderr,
                        dynamic_ncols=True, mininterval=0.5, disable=not self.enabled)
        self._swapped: list[tuple[logging.Handler, logging.Handler]] = []
        if self.enabled:
            logger = logging.getLogger("simkit")
            for handler in list(logger.handlers):
                if type(handler) is logging.StreamHandler and handler.stream in (sys.stderr, sys.stdout):
                    replacement = _BarSafeHandler(handler.level)
                    replacement.setFormatter(handler.formatter)
                    logger.removeHandler(handler)
                    logger.addHandler(replacement)
                    self._swapped.append((handler, replacement))

    def show(self, best: float | None, failed: int, penalised: int, running: int, advance: int = 0) -> None:
        self.bar.set_postfix(best="-" if best is None else f"{best:.5g}", failed=failed, penalised=penalised,
                             running=running, refresh=False)
        self.bar.update(advance)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()
        logger = logging.getLogger("simkit")
        for original, replacement in self._swapped:
            logger.removeHandler(replacement)
            logger.addHandler(original)
        self._swapped = []


class Coordinator:
    """State of a run between the journal and the optimiser."""

    def __init__(self, journal: Journal, space: SearchSpace, proposer: Proposer, *, budget: int,
                 deadline: float | None = None, progress: bool = False):
        self.journal = journal
        self.space = space
        self.proposer = proposer
        self.budget = budget
        self.deadline = deadline  # time.monotonic() after which nothing new starts
        self.stop_reason: str | None = None
        self.running: dict[int, CandidateTask] = {}
        self.initial_of: dict[int, int] = {}
        rows = journal.finished()
        self.finished = len(rows)
        self.failed = sum(r["status"] == CandidateStatus.FAILED for r in rows)
        self.penalised = sum(bool(r["penalised"]) for r in rows)
        self.feasible = [r["objective"] for r in rows if r["status"] == CandidateStatus.OK and r["objective"] is not None]
        self.seen = {self.space.key(r["point"]) for r in rows}
        self.taken_initial = {r["initial_index"] for r in rows if r["initial_index"] is not None}
        told = journal.told()
        proposer.tell([p for p, _ in told], [v for _, v in told])
        self.started_this_session = 0
        self._session_start = time.monotonic()
        self._finished_at_start = self.finished
        self.progress = Progress(budget, self.finished, progress)
        self.progress.show(self.best, self.failed, self.penalised, 0)

    @property
    def best(self) -> float | None:
        return min(self.feasible) if self.feasible else None

    @property
    def done(self) -> bool:
        return self.finished >= self.budget

    # -- handing out ------------------------------------------------------------------
    def next_task(self) -> CandidateTask | None:
        if self.stop_reason is None:
            if self.finished + len(self.running) >= self.budget:
                return None
            if self.deadline is not None and time.monotonic() > self.deadline:
                self.stop_reason = "wall time of this session reached"
                log.info("%s: no new candidates (resume the run to continue)", self.stop_reason)
        if self.stop_reason is not None:
            return None
        pending = [task.point for task in self.running.values()]
        taken = self.taken_initial | set(self.initial_of.values())
        proposal = self.proposer.propose(pending, taken, self.seen | {self.space.key(p) for p in pending})
        if proposal is None:
            self.stop_reason = "every point of the search space has been evaluated"
            log.info("%s", self.stop_reason)
            return None
        point, source, index = proposal
        cid = self.journal.next_id()
        workdir = candidate_dir(self.journal.run_dir, cid)
        shutil.rmtree(workdir, ignore_errors=True)  # leftovers of a killed session never mix with a new candidate
        params = self.space.params(point)
        self.journal.dispatch(cid, point, params, source, index, workdir)
        task = CandidateTask(id=cid, point=point, params=params, workdir=str(workdir), best=self.best)
        self.running[cid] = task
        if index is not None:
            self.initial_of[cid] = index
        self.started_this_session += 1
        log.debug("candidate %d (%s): %s", cid, source, params)
        self.progress.show(self.best, self.failed, self.penalised, len(self.running))
        return task

    # -- recording --------------------------------------------------------------------
    def told_value(self, outcome: CandidateOutcome) -> tuple[float | None, bool]:
        if outcome.status == CandidateStatus.OK:
            return outcome.objective, False
        if outcome.status == CandidateStatus.PRUNED and outcome.lower_bound is not None and math.isfinite(outcome.lower_bound):
            return outcome.lower_bound, True
        anchor = outcome.objective if outcome.objective is not None else outcome.lower_bound
        return penalty(anchor if outcome.status == CandidateStatus.INFEASIBLE else None, self.feasible), True

    def finish(self, outcome: CandidateOutcome) -> None:
        task = self.running.pop(outcome.id, None)
        if task is None:
            log.debug("candidate %d reported twice; the second report is ignored", outcome.id)
            return
        told, penalised = self.told_value(outcome)
        self.journal.finish(outcome, told, penalised)  # committed before anything else can go wrong
        index = self.initial_of.pop(outcome.id, None)
        if index is not None:
            self.taken_initial.add(index)
        self.seen.add(self.space.key(task.point))
        self.finished += 1
        self.failed += outcome.status == CandidateStatus.FAILED
        self.penalised += penalised
        if outcome.status == CandidateStatus.OK:
            self.feasible.append(outcome.objective)
        if told is not None:
            self.proposer.tell([task.point], [told])
        self.progress.show(self.best, self.failed, self.penalised, len(self.running), advance=1)
        log.info("candidate %d %s: %s [%s]", outcome.id, outcome.status, _summary(outcome, told, penalised),
                 self._status_line())

    def _status_line(self) -> str:
        finished_now = self.finished - self._finished_at_start
        text = f"{self.finished}/{self.budget} finished"
        remaining = self.budget - self.finished
        if finished_now and remaining > 0:
            eta = (time.monotonic() - self._session_start) / finished_now * remaining
            text += f", ETA {eta / 60:.1f} min"
        best = self.best
        return text + f", best {'-' if best is None else f'{best:.5g}'}, {self.failed} failed"

    def fail(self, cid: int, reason: str, error_type: str = "WorkerDied") -> None:
        """Record a candidate whose evaluation could not report (its worker died)."""
        outcome = CandidateOutcome(id=cid, reason=reason, error_type=error_type)
        if cid in self.running:
            outcome.artefacts["workdir"] = self.running[cid].workdir
        self.finish(outcome)

    def close(self) -> None:
        self.progress.close()


def _summary(outcome: CandidateOutcome, told: float | None, penalised: bool) -> str:
    parts = []
    if outcome.loss is not None:
        parts.append(f"loss {outcome.loss:.4g}")
    if outcome.speed_per_core is not None:
        parts.append(f"{outcome.speed_per_core:.4g} atom-steps/s/core")
    if outcome.survival is not None:
        parts.append(f"survival {100 * outcome.survival:.0f} %")
    if outcome.objective is not None:
        parts.append(f"objective {outcome.objective:.5g}")
    if outcome.reason:
        parts.append(outcome.reason)
    if told is not None and penalised:
        parts.append(f"told {told:.5g} (penalised)")
    return "; ".join(parts) or "-"
