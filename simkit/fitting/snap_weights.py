"""SNAP weights chosen at fixed descriptors: ``snap.weight_search``.

A SNAP candidate's cost is its descriptors (LAMMPS ``compute snap`` over every frame); a
linear solve at other weights costs milliseconds. The per-config_type energy and force
weights only change the solve, so they need not be dimensions of the optimiser's
Gaussian process, where each trial would recompute every descriptor. With
``snap.weight_search`` the fit computes the training and validation rows once and
searches the log-weights for the smallest validation loss
L = alpha L_E + (1 - alpha) L_F of ``scoring`` (the optimiser's own loss): seeded random
draws in the given ranges, then bounded Nelder-Mead from the best draw.

Each trial sums per-(config_type, row kind) blocks A^T A and A^T b with the squared
weights, scales the columns to unit norm (as :mod:`simkit.fitting.linear` does) and
solves the normal equations: ridge exactly as the SVD ridge, ``svd`` by Cholesky (all
singular values kept: its default rcond of 1e-10 keeps every value that double
precision resolves) with a truncated eigen-solve where Cholesky fails. The weights that
win are then fitted by the configured solver, and the candidate is scored in LAMMPS like
any other: the search chooses, it never reports.

The validation set chooses the weights here, as it chooses every hyperparameter an
optimiser searches; a test set the search never saw is the honest measure of the result.
Virial rows keep the configured weights. Only the ratios of the weights matter (scaling
all of them gives the same fit), so the search's one flat direction costs iterations,
not accuracy.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize
from pydantic import Field, model_validator

from simkit.config.schema import GrowingSchema, Schema
from simkit.datasets.frames import Frame
from simkit.datasets.spec import TermWeights, Weights
from simkit.fitting.linear import RidgeSolver
from simkit.fitting.snap_rows import assemble_system
from simkit.lammps.snap_descriptors import DescriptorRows
from simkit.scoring.metrics import MEV_PER_EV, ForceLoss

log = logging.getLogger(__name__)

ENERGY, FORCES, VIRIAL = 0, 1, 2
# Eigenvalues of the scaled normal matrix below this share of the largest are round-off (its condition is the
# square of the weighted matrix's), and are dropped when Cholesky fails.
EIGEN_FLOOR = 1e-14


class ErrorTargets(Schema):
    """Validation errors to meet together: the weights chosen make max(E / energy, F / forces) smallest."""

    energy_meV_per_atom: float = Field(gt=0, allow_inf_nan=False, description="energy RMSE (meV/atom)")
    forces_meV_per_A: float = Field(gt=0, allow_inf_nan=False,
                                    description="force RMSE (meV/Å) of the kind scoring.force_loss names")

    def ratio(self, energy_meV_per_atom: float, forces_meV_per_A: float) -> float:
        """max(E / energy target, F / force target): at most 1 where both are met; inf if not finite."""
        value = max(energy_meV_per_atom / self.energy_meV_per_atom, forces_meV_per_A / self.forces_meV_per_A)
        return value if np.isfinite(value) else np.inf


class WeightSearch(GrowingSchema):
    """Search the per-config_type energy and force weights by cheap re-solves (ranges as in XPOT's searches)."""

    ADDED_KEYS = {"targets": None}

    energy_range: tuple[float, float] = Field(default=(100.0, 15000.0), description="energy weights searched")
    force_range: tuple[float, float] = Field(default=(0.1, 500.0), description="force weights searched")
    draws: int = Field(default=500, ge=1, le=100_000, description="seeded random draws before Nelder-Mead")
    iterations: int = Field(default=600, ge=0, le=1_000_000, description="Nelder-Mead iterations of each start")
    starts: int = Field(default=1, ge=1, le=100, description="Nelder-Mead runs, from the best distinct draws")
    targets: ErrorTargets | None = Field(
        default=None, description="choose the weights that best meet both error targets instead of the smallest "
        "loss (the loss's optimum is one start of that search)")

    @model_validator(mode="after")
    def _ranges(self) -> "WeightSearch":
        for key in ("energy_range", "force_range"):
            low, high = getattr(self, key)
            if not (np.isfinite(low) and np.isfinite(high) and 0 < low <= high):
                raise ValueError(f"{key} must be two finite numbers 0 < low <= high, got {[low, high]}")
        return self


@dataclass
class SearchedWeights:
    weights: Weights
    loss: float  # validation loss of the linear model at these weights (before the configured solver's fit)
    energy_rmse_meV_per_atom: float
    force_rmse_meV_per_A: float  # of the kind the loss uses (vector or component)
    solves: int
    seconds: float
    target_ratio: float | None = None  # max(E / E_target, F / F_target) with weight_search.targets

    def describe(self) -> dict:
        described = {
            "config_types": {name: {"energy": t.energy, "forces": t.forces}
                             for name, t in self.weights.config_types.items()},
            "search_loss": self.loss, "search_energy_rmse_meV_per_atom": self.energy_rmse_meV_per_atom,
            "search_force_rmse_meV_per_A": self.force_rmse_meV_per_A, "solves": self.solves,
            "seconds": self.seconds,
        }
        if self.target_ratio is not None:
            described["search_target_ratio"] = self.target_ratio
        return described


class WeightBlocks:
    """Normal-equation blocks of the training rows and the validation rows, at unit weights.

    A trial of weights is :meth:`solve` then :meth:`residuals`; ``benchmarks/snap_weight_frontier.py`` uses
    the same two calls with its own objective.
    """

    def __init__(self, train: list[Frame], train_rows: list[DescriptorRows], validation: list[Frame],
                 validation_rows: list[DescriptorRows], weights: Weights, energy_rows: str):
        self.config_types = list(dict.fromkeys(f.config_type for f in train))
        self.normal: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
        self.fixed: dict[tuple[str, int], float] = {}
        for name in self.config_types:
            picked = [(f, r) for f, r in zip(train, train_rows) if f.config_type == name]
            virial = weights.for_config_type(name)[2]
            system = assemble_system(*map(list, zip(*picked)), Weights(energy=1.0, forces=1.0, virial=virial),
                                     energy_rows)
            for kind in (ENERGY, FORCES, VIRIAL):
                rows = system.kind == kind
                if rows.any():
                    a, b = system.matrix[rows], system.target[rows]
                    self.normal[(name, kind)] = (a.T @ a, a.T @ b)
            if (name, VIRIAL) in self.normal:
                self.fixed[(name, VIRIAL)] = virial
        # energy rows over sqrt(N), whatever the fit's rows are: the loss's L_E (simkit.scoring.metrics)
        checked = assemble_system(validation, validation_rows, Weights(energy=1.0, forces=1.0, virial=0.0),
                                  "per_sqrt_atom")
        self.energy = (checked.matrix[checked.kind == ENERGY], checked.target[checked.kind == ENERGY])
        self.sqrt_atoms = np.sqrt([float(f.n_atoms) for f in validation])
        self.forces = (checked.matrix[checked.kind == FORCES], checked.target[checked.kind == FORCES])
        self.searched = [k for k in self.normal if k[1] != VIRIAL]

    def solve(self, squared: dict[tuple[str, int], float], ridge: float) -> np.ndarray:
        """Coefficients at the squared weights ``squared`` of the searched blocks (virial blocks as configured)."""
        factors = {**squared, **{k: w * w for k, w in self.fixed.items()}}
        matrix = sum(factors[k] * self.normal[k][0] for k in self.normal)
        rhs = sum(factors[k] * self.normal[k][1] for k in self.normal)
        return _solve_scaled(matrix, rhs, ridge)

    def residuals(self, coefficients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Validation residuals in eV: energies over sqrt(N) (per frame), force components (eV/Å)."""
        return (self.energy[0] @ coefficients - self.energy[1],
                self.forces[0] @ coefficients - self.forces[1])


def _solve_scaled(matrix: np.ndarray, rhs: np.ndarray, ridge: float) -> np.ndarray:
    scale = np.sqrt(np.diag(matrix))
    live = scale > 0
    m = matrix[np.ix_(live, live)] / np.outer(scale[live], scale[live])
    r = rhs[live] / scale[live]
    try:
        y = scipy.linalg.cho_solve(scipy.linalg.cho_factor(m + ridge * np.eye(m.shape[0])), r)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(m)
        keep = values > EIGEN_FLOOR * values[-1]
        y = vectors[:, keep] @ ((vectors[:, keep].T @ r) / (values[keep] + ridge))
    x = np.zeros(matrix.shape[0])
    x[live] = y / scale[live]
    return x


def search_weights(
    train: list[Frame], train_rows: list[DescriptorRows], validation: list[Frame],
    validation_rows: list[DescriptorRows], *, weights: Weights, energy_rows: str, solver, settings: WeightSearch,
    alpha: float, force_loss: ForceLoss, seed: int,
) -> SearchedWeights:
    """The per-config_type energy and force weights with the smallest validation loss (see the module)."""
    started = time.perf_counter()
    blocks = WeightBlocks(train, train_rows, validation, validation_rows, weights, energy_rows)
    ridge = solver.alpha if isinstance(solver, RidgeSolver) else 0.0
    return search_block_weights(blocks, weights=weights, ridge=ridge, settings=settings, alpha=alpha,
                                force_loss=force_loss, seed=seed, started=started)


def search_block_weights(
    blocks: WeightBlocks, *, weights: Weights, ridge: float, settings: WeightSearch, alpha: float,
    force_loss: ForceLoss, seed: int, started: float | None = None,
) -> SearchedWeights:
    """:func:`search_weights` on blocks already built (``benchmarks/snap_weight_frontier.py`` starts from it)."""
    started = time.perf_counter() if started is None else started
    force_factor = np.sqrt(3.0) if force_loss == "vector" else 1.0  # vector RMSE = sqrt(3) x component RMSE
    keys = blocks.searched
    bounds = np.log([settings.energy_range if k[1] == ENERGY else settings.force_range for k in keys])
    solves = 0

    def errors(z: np.ndarray) -> tuple[float, float, float]:
        """(L_E in meV, L_F in meV/Å, energy RMSE in meV/atom)."""
        nonlocal solves
        solves += 1
        energy, force_components = blocks.residuals(
            blocks.solve({k: float(np.exp(v)) ** 2 for k, v in zip(keys, z)}, ridge))
        forces = MEV_PER_EV * force_factor * _rms(force_components)
        return MEV_PER_EV * _rms(energy), forces, MEV_PER_EV * _rms(energy / blocks.sqrt_atoms)

    def combined(energy: float, forces: float) -> float:
        value = alpha * energy + (1.0 - alpha) * forces
        return value if np.isfinite(value) else np.inf

    def loss(z: np.ndarray) -> float:
        energy, forces, _ = errors(z)
        return combined(energy, forces)

    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        # Normal equations of quadratic SNAP are ill-conditioned by design; the configured solver refits the winner.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        draws = rng.uniform(bounds[:, 0], bounds[:, 1], size=(settings.draws, len(keys)))
        drawn = [errors(z) for z in draws]
        values = np.array([combined(energy, forces) for energy, forces, _ in drawn])
        order = np.argsort(values, kind="stable")
        best, best_value = draws[order[0]], values[order[0]]
        if settings.iterations and np.all(bounds[:, 1] > bounds[:, 0]):
            for start in draws[order[: settings.starts]]:
                result = scipy.optimize.minimize(loss, start, method="Nelder-Mead", bounds=bounds, options={
                    "maxiter": settings.iterations, "xatol": 1e-3, "fatol": 1e-6})
                if result.fun < best_value:
                    best, best_value = np.clip(result.x, bounds[:, 0], bounds[:, 1]), result.fun
        if settings.targets is not None:
            start = draws[int(np.argmin([settings.targets.ratio(e, f) for _, f, e in drawn]))]
            best = _meet_targets(errors, settings.targets, settings.iterations, bounds, [best, start])
        energy, forces, per_atom = errors(best)
    if not np.isfinite(combined(energy, forces)):
        raise ValueError("snap.weight_search: no weights gave a finite validation loss")
    ratio = None if settings.targets is None else settings.targets.ratio(per_atom, forces)
    # exp(log(x)) can land an ulp outside the range; the weights written are inside it
    ranges = [settings.energy_range if k[1] == ENERGY else settings.force_range for k in keys]
    chosen = {k: float(np.clip(np.exp(v), *r)) for k, v, r in zip(keys, best, ranges)}
    per_type = {}
    for name in blocks.config_types:
        base = weights.for_config_type(name)
        per_type[name] = TermWeights(energy=chosen.get((name, ENERGY), base[0]),
                                     forces=chosen.get((name, FORCES), base[1]), virial=base[2])
    searched = SearchedWeights(
        weights=Weights(energy=weights.energy, forces=weights.forces, virial=weights.virial, config_types=per_type),
        loss=combined(energy, forces), energy_rmse_meV_per_atom=per_atom, force_rmse_meV_per_A=forces,
        solves=solves, seconds=time.perf_counter() - started, target_ratio=ratio,
    )
    log.info("SNAP weight search: validation L %.4g (E %.3g meV/atom, F %.3g meV/A%s) after %d solves, %.1f s",
             searched.loss, per_atom, forces, "" if ratio is None else f", {ratio:.4g} x the targets", solves,
             searched.seconds)
    return searched


def _meet_targets(errors, targets: ErrorTargets, iterations: int, bounds: np.ndarray,
                  starts: list[np.ndarray]) -> np.ndarray:
    """The log-weights with the smallest max(E / E_target, F / F_target) (a Chebyshev scalarisation: the
    point of the energy/force trade-off nearest both targets in proportion). That maximum has many local
    minima, so Nelder-Mead starts from each of ``starts`` (the loss's optimum, which sits near the
    trade-off, and the draw that scores best), within the ranges."""
    def ratio(z: np.ndarray) -> float:
        _, forces, per_atom = errors(np.clip(z, bounds[:, 0], bounds[:, 1]))
        return targets.ratio(per_atom, forces)

    best, best_value = starts[0], ratio(starts[0])
    for start in starts:
        result = scipy.optimize.minimize(ratio, start, method="Nelder-Mead", options={
            "maxiter": max(iterations, 1), "xatol": 1e-3, "fatol": 1e-6})
        if result.fun < best_value:
            best, best_value = np.clip(result.x, bounds[:, 0], bounds[:, 1]), result.fun
    return best


def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(values**2))) if values.size else 0.0
