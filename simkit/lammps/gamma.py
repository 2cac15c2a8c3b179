"""The ACE extrapolation grade (gamma) during LAMMPS runs.

simkit's pace plugin computes gamma when its pair style was given an active set
(``pair_style pace activeset FILE``, see :mod:`simkit.ace.activeset`) and a
``fix pair`` asks for it: only on the steps that fix runs, since grading costs
a second pass over every environment (see benchmarks/results/ace_gamma_cost.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simkit.errors import ConfigError
from simkit.lammps.gather import gather_on_root


@dataclass(frozen=True)
class GammaWatch:
    """A ``fix pair`` grading every ``every_steps`` steps, and the compute of its maximum."""

    fix_id: str
    max_id: str
    every_steps: int

    @property
    def max_reference(self) -> str:
        """``c_<max_id>``: usable in thermo output and variables on multiples of ``every_steps``."""
        return f"c_{self.max_id}"


def watch_gamma(session, every_steps: int, *, name: str = "simkit_gamma") -> GammaWatch:
    """Ask the session's ACE potential for gamma every ``every_steps`` steps (from now on)."""
    potential = session.potential
    if getattr(potential, "kind", None) != "ace" or getattr(potential, "activeset", None) is None:
        raise ConfigError("a gamma threshold needs an ACE potential with an active set "
                          "(potential: {kind: ace, yace: ..., activeset: ...}; build one with `simkit ace activeset`)")
    if every_steps < 1:
        raise ConfigError(f"gamma is graded every N >= 1 steps, got {every_steps}")
    watch = GammaWatch(name, f"{name}_max", int(every_steps))
    session.command(f"fix {watch.fix_id} all pair {watch.every_steps} pace gamma 1")
    session.command(f"compute {watch.max_id} all reduce max f_{watch.fix_id}")
    session.command(f"variable {watch.max_id} equal c_{watch.max_id}")
    return watch


def unwatch_gamma(session, watch: GammaWatch) -> None:
    session.command(f"variable {watch.max_id} delete")
    session.command(f"uncompute {watch.max_id}")
    session.command(f"unfix {watch.fix_id}")


def max_gamma(session, watch: GammaWatch) -> float:
    """The largest gamma of the last graded step (collective; the run must have ended on a graded step)."""
    return session.variable(watch.max_id)


def gamma_on_root(session, watch: GammaWatch) -> np.ndarray | None:
    """Per-atom gamma of the last graded step, in atom-ID order, on rank 0 (``None`` elsewhere)."""
    gathered = gather_on_root(session, {f"f_{watch.fix_id}": 1})
    return None if gathered is None else gathered[f"f_{watch.fix_id}"]
