"""Bayesian hyperparameter optimisation of fitted potentials, scored on accuracy, speed and survival.

The modules follow a candidate's path: :mod:`~simkit.optimise.config` (the
YAML: fit, search space, objective, budget) -> :mod:`~simkit.optimise.space`
(named dimensions checked against the fit config) ->
:mod:`~simkit.optimise.proposer` (initial design, scikit-optimize ask/tell with
constant liar) -> :mod:`~simkit.optimise.coordinator` (hands out tasks, tells
the optimiser) -> :mod:`~simkit.optimise.pool` or
:mod:`~simkit.optimise.mpi_pool` (k candidates at once) ->
:mod:`~simkit.optimise.evaluate` (fit, speed, survival; cheap first, early stop,
:mod:`~simkit.optimise.objective`) -> :mod:`~simkit.optimise.journal` (SQLite,
one row per candidate) -> :mod:`~simkit.optimise.results` and
:mod:`~simkit.optimise.plots`. :func:`run_optimisation` in
:mod:`~simkit.optimise.runner` ties them together (``simkit optimise``).
"""

from simkit.optimise.runner import config_from_run_dir, load_optimise_config, run_optimisation

__all__ = ["config_from_run_dir", "load_optimise_config", "run_optimisation"]
