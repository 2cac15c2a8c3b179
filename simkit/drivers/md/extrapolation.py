"""Stop an MD run whose ACE potential leaves its training domain (extrapolation grade gamma).

The plugin grades gamma on absolute steps that are multiples of ``every_steps``
(``fix pair``); the executor ends a run chunk on each of them and calls
:meth:`GammaCheck.check`. Above ``max_gamma`` the configuration, with each
atom's gamma, is written to ``extrapolation.extxyz`` and the run fails with
:class:`ExtrapolationDetected`: records and frames up to that step are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ase.io import write

from simkit.errors import RunFailed
from simkit.lammps.gamma import GammaWatch, graded_structure_on_root, max_gamma
from simkit.lammps.snapshot import current_time_ps

EXTRAPOLATION_STRUCTURE = "extrapolation.extxyz"


class ExtrapolationDetected(RunFailed):
    """An atom's extrapolation grade exceeded the protocol's max_gamma; the run stopped there."""


@dataclass
class GammaCheck:
    watch: GammaWatch
    limit: float
    output_dir: Path
    highest: float = 0.0
    checks: int = 0
    exceeded: dict | None = None

    def next_step(self, step: int) -> int:
        """The first graded step after ``step``."""
        every = self.watch.every_steps
        return (step // every + 1) * every

    def due(self, step: int) -> bool:
        return step % self.watch.every_steps == 0

    def check(self, session) -> None:
        """Read gamma of the step just run (collective); raise when it exceeds the limit."""
        grade = max_gamma(session, self.watch)
        self.highest = max(self.highest, grade)
        self.checks += 1
        if not grade > self.limit:
            return
        step, time_ps = current_time_ps(session)
        path = self.output_dir / EXTRAPOLATION_STRUCTURE
        atoms = graded_structure_on_root(session, self.watch)
        if atoms is not None:
            write(path, atoms, format="extxyz")
        self.exceeded = {"step": step, "time_ps": time_ps, "gamma": grade, "structure": str(path)}
        raise ExtrapolationDetected(
            f"extrapolation grade gamma = {grade:.3g} exceeded max_gamma {self.limit:g} at step {step} "
            f"({time_ps:.4g} ps): the potential left its training domain; the structure is in {path}")

    def report(self) -> dict:
        """For the run summary (this attempt's checks)."""
        return {"max_gamma": self.limit, "every_steps": self.watch.every_steps, "checks": self.checks,
                "highest_gamma": self.highest if self.checks else None, "exceeded": self.exceeded}
