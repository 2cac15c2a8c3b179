"""MD runs that pause on a schedule and can be continued from a restart file.

A *span* is one stretch of MD from step ``begin`` to step ``end`` (a ramp, a
hold, a production run). :func:`run_span` advances the current system towards
``end`` in chunks that stop on every multiple of each cadence counted from
``begin`` (thermo rows, frames, checkpoints), each chunk as
``run n start begin stop end``, so fixes that ramp see the whole span even
when it is split or continued after a restart.
"""

from __future__ import annotations

from typing import Callable, Iterable

from simkit.lammps.session import LammpsSession


def current_step(session: LammpsSession) -> int:
    return session.step


def run_span(session: LammpsSession, *, begin: int, end: int, cadences: Iterable[int | None],
             on_stop: Callable[[int], bool]) -> None:
    """Run from the current step to ``end``, pausing on multiples of each cadence (steps from ``begin``).

    ``on_stop(step)`` is called at every pause (and at ``end``); it returns True
    when it re-initialised LAMMPS (e.g. wrote a restart file), so the next
    chunk sets up again.
    """
    cadences = [int(c) for c in cadences if c]
    step = current_step(session)
    if not begin <= step <= end:
        raise ValueError(f"current step {step} is outside the span {begin}-{end}")
    setup = True
    while step < end:
        offset = step - begin
        target = min([end] + [begin + (offset // c + 1) * c for c in cadences])
        session.run(target - step, start=begin, stop=end, setup=setup)
        step = target
        setup = bool(on_stop(step))
