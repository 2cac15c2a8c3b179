"""SNAP weights chosen at fixed descriptors: ``snap.weight_search``.

A SNAP candidate's cost is its descriptors (LAMMPS ``compute snap`` over every frame); a
linear solve at other weights costs milliseconds. The per-config_type energy and force
weights only change the solve, so they need not be dimensions of the optimiser's
Gaussian process, where each trial would recompute every descriptor. With
``snap.weight_search`` the fit computes the training and validation rows once and
searches the log-weights for the smallest validation loss
L = alpha L_E + (1 - alpha) L_F of ``scoring`` (the optimiser's own loss): seeded random
draws in the given ranges, then bounded Nelder-Mead from the best draw (or, with
``method: gradient``, L-BFGS-B with the loss's exact gradient from each of the
``starts`` best draws: on Mo it found lower losses than Nelder-Mead in a twentieth of
the solves, and the same loss from every seed with 8 starts). With
``targets`` the weights are those nearest both error targets instead (smallest
max(E / E_target, F / F_target)), found by SLSQP with the errors' exact gradients
from the loss's optimum and the best draws.

Each trial sums per-(config_type, row kind) blocks A^T A and A^T b with the squared
weights, scales the columns to unit norm (as :mod:`simkit.fitting.linear` does) and
solves the normal equations: ridge exactly as the SVD ridge, ``svd`` by Cholesky with a
truncated eigen-solve where Cholesky fails. The normal equations square the condition
number, so they cannot resolve the singular values between about 1e-8 and the SVD's
rcond (1e-10) of the largest, which the deployed SVD keeps; where those matter the two
disagree (on si-teacher with XPOT's ranges by a factor of 4). So with an SVD solver the
search's best optima are ranked again by the deployed SVD solve itself
(:meth:`WeightBlocks.solve_svd`, from per-block R factors), and the numbers reported are
that solve's. The weights that win are then fitted by the configured solver, and the
candidate is scored in LAMMPS like any other: the search chooses, it never reports.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.linalg
import scipy.optimize
from pydantic import Field, model_validator

from simkit.config.schema import GrowingSchema, Schema
from simkit.datasets.frames import Frame
from simkit.datasets.spec import TermWeights, Weights
from simkit.fitting.linear import RidgeSolver, SvdSolver, solve_weighted
from simkit.fitting.snap_rows import assemble_system
from simkit.lammps.snap_descriptors import DescriptorRows
from simkit.scoring.metrics import MEV_PER_EV, ForceLoss

log = logging.getLogger(__name__)

ENERGY, FORCES, VIRIAL = 0, 1, 2
# Eigenvalues of the scaled normal matrix below this share of the largest are round-off (its condition is the
# square of the weighted matrix's), and are dropped when Cholesky fails.
EIGEN_FLOOR = 1e-14
# The search's best local optima that the deployed SVD solve ranks again (an SVD of the compressed rows each).
RESCORED = 12
# With targets, SLSQP starts from the loss's optimum and this many draws (the ratio has local minima; a start
# costs up to a few hundred solves).
TARGET_STARTS = 4


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

    ADDED_KEYS = {"targets": None, "method": "nelder-mead"}

    energy_range: tuple[float, float] = Field(default=(100.0, 15000.0), description="energy weights searched")
    force_range: tuple[float, float] = Field(default=(0.1, 500.0), description="force weights searched")
    draws: int = Field(default=500, ge=1, le=100_000, description="seeded random draws before Nelder-Mead")
    iterations: int = Field(default=600, ge=0, le=1_000_000, description="Nelder-Mead iterations of each start")
    starts: int = Field(default=1, ge=1, le=100, description="local searches, from the best draws")
    method: Literal["nelder-mead", "gradient"] = Field(
        default="nelder-mead", description="local search of the loss: Nelder-Mead, or L-BFGS-B with the loss's "
        "exact gradient (tens of solves a start instead of hundreds; use several starts)")
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
    rescored: int | None = None  # optima ranked again by the deployed SVD solve (SVD solver only)

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
        if self.rescored is not None:
            described["svd_rescored_optima"] = self.rescored
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
        self.compressed: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
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
                    self.compressed[(name, kind)] = _compress(a, b)
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
        matrix, rhs = self._system(squared)
        return _ScaledSystem(matrix, ridge).solve(rhs)

    def solve_with_gradient(self, squared: dict[tuple[str, int], float],
                            ridge: float) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`solve`, and the coefficients' derivatives by the log-weight of each block of :attr:`searched`
        (one column each).

        The solve is x = (M + ridge D^2)^-1 r with M = sum_k w_k^2 G_k, r = sum_k w_k^2 h_k and D^2 = diag(M) (the
        unit-norm column scaling); d w_k^2 / d log w_k = 2 w_k^2, so dx / d log w_k = (M + ridge D^2)^-1
        2 w_k^2 (h_k - G_k x - ridge diag(G_k) x), one more solve with the same factor for every block."""
        matrix, rhs = self._system(squared)
        system = _ScaledSystem(matrix, ridge)
        x = system.solve(rhs)
        pulls = np.column_stack([
            2.0 * squared[k] * (self.normal[k][1] - self.normal[k][0] @ x - ridge * np.diag(self.normal[k][0]) * x)
            for k in self.searched])
        return x, system.solve(pulls)

    def _factors(self, squared: dict[tuple[str, int], float]) -> dict[tuple[str, int], float]:
        """Squared weights of every block: the searched ones given, the virial blocks as configured."""
        return {**squared, **{k: w * w for k, w in self.fixed.items()}}

    def _system(self, squared: dict[tuple[str, int], float]) -> tuple[np.ndarray, np.ndarray]:
        factors = self._factors(squared)
        matrix = sum(factors[k] * self.normal[k][0] for k in self.normal)
        rhs = sum(factors[k] * self.normal[k][1] for k in self.normal)
        return matrix, rhs

    def solve_svd(self, squared: dict[tuple[str, int], float], solver: SvdSolver) -> np.ndarray:
        """The deployed SVD solve (:func:`simkit.fitting.linear.solve_weighted` with ``solver``) at these weights,
        from the blocks' compressed rows: [w_k R_k] has the singular values and right vectors of the full
        weighted matrix, and [w_k Q_k^T b_k] its projected targets, so the truncation is the deployed one,
        which the normal equations cannot resolve."""
        factors = self._factors(squared)
        weighted = np.vstack([np.sqrt(factors[k]) * self.compressed[k][0] for k in self.compressed])
        rhs = np.concatenate([np.sqrt(factors[k]) * self.compressed[k][1] for k in self.compressed])
        return solve_weighted(weighted, rhs, np.ones(rhs.size), solver).coefficients

    def residuals(self, coefficients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Validation residuals in eV: energies over sqrt(N) (per frame), force components (eV/Å)."""
        return (self.energy[0] @ coefficients - self.energy[1],
                self.forces[0] @ coefficients - self.forces[1])


def _compress(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R, Q^T b) of a = QR, or (a, b) when a has no more rows than columns: the same least squares."""
    if a.shape[0] <= a.shape[1]:
        return a, b
    r = scipy.linalg.qr(np.column_stack([a, b]), mode="r", overwrite_a=True)[0]
    columns = a.shape[1]
    return r[:columns, :columns], r[:columns, columns]


class _ScaledSystem:
    """(M + ridge diag(M)) x = r solved with the columns scaled to unit norm: Cholesky, or where that fails a
    truncated eigen-solve (the normal matrix squares the condition number, so its smallest values are
    round-off). Columns that are zero in every row get coefficient 0."""

    def __init__(self, matrix: np.ndarray, ridge: float):
        self.size = matrix.shape[0]
        scale = np.sqrt(np.diag(matrix))
        self.live = scale > 0
        self.scale = scale[self.live]
        m = matrix[np.ix_(self.live, self.live)] / np.outer(self.scale, self.scale)
        self.ridge = ridge
        try:
            self.factor, self.eigen = scipy.linalg.cho_factor(m + ridge * np.eye(m.shape[0])), None
        except np.linalg.LinAlgError:
            values, vectors = np.linalg.eigh(m)
            keep = values > EIGEN_FLOOR * values[-1]
            self.factor, self.eigen = None, (values[keep], vectors[:, keep])

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """x for one right-hand side (n,) or several (n, k)."""
        r = rhs[self.live] / (self.scale if rhs.ndim == 1 else self.scale[:, None])
        if self.eigen is None:
            y = scipy.linalg.cho_solve(self.factor, r)
        else:
            values, vectors = self.eigen
            inverse = 1.0 / (values + self.ridge)
            y = vectors @ ((vectors.T @ r) * (inverse if r.ndim == 1 else inverse[:, None]))
        x = np.zeros((self.size,) + rhs.shape[1:])
        x[self.live] = y / (self.scale if rhs.ndim == 1 else self.scale[:, None])
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
    deployed = solver if isinstance(solver, SvdSolver) else None
    return search_block_weights(blocks, weights=weights, ridge=ridge, settings=settings, alpha=alpha,
                                force_loss=force_loss, seed=seed, started=started, deployed=deployed)


def search_block_weights(
    blocks: WeightBlocks, *, weights: Weights, ridge: float, settings: WeightSearch, alpha: float,
    force_loss: ForceLoss, seed: int, started: float | None = None, deployed: SvdSolver | None = None,
    extra_starts: Sequence[Mapping[tuple[str, int], float]] = (),
) -> SearchedWeights:
    """:func:`search_weights` on blocks already built. ``extra_starts`` (weights, not squared, by searched
    block) are local searches' starts besides the best draws: ``benchmarks/snap_weight_frontier.py`` starts
    from a candidate's own weights, which the draws can miss."""
    started = time.perf_counter() if started is None else started
    force_factor = np.sqrt(3.0) if force_loss == "vector" else 1.0  # vector RMSE = sqrt(3) x component RMSE
    keys = blocks.searched
    bounds = np.log([settings.energy_range if k[1] == ENERGY else settings.force_range for k in keys])
    missing = [k for start in extra_starts for k in keys if k not in start]
    if missing:
        raise ValueError(f"snap.weight_search: an extra start has no weight for {missing[0]}")
    extra = [np.clip(np.log([float(start[k]) for k in keys]), bounds[:, 0], bounds[:, 1]) for start in extra_starts]

    trials = _Trials(blocks, ridge, force_factor)

    def combined(energy: float, forces: float) -> float:
        value = alpha * energy + (1.0 - alpha) * forces
        return value if np.isfinite(value) else np.inf

    def loss(z: np.ndarray) -> float:
        trial = trials(z)
        return combined(trial.loss_energy, trial.forces)

    def loss_with_gradient(z: np.ndarray) -> tuple[float, np.ndarray]:
        trial = trials(z, gradient=True)
        value = combined(trial.loss_energy, trial.forces)
        gradient = alpha * trial.d_loss_energy + (1.0 - alpha) * trial.d_forces
        return (value, gradient) if np.isfinite(value) else (1e300, np.zeros_like(z))

    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        # Normal equations of quadratic SNAP are ill-conditioned by design; the configured solver refits the winner.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        draws = rng.uniform(bounds[:, 0], bounds[:, 1], size=(settings.draws, len(keys)))
        drawn = [trials(z) for z in draws]
        values = np.array([combined(t.loss_energy, t.forces) for t in drawn])
        order = np.argsort(values, kind="stable")
        optima = [(values[order[0]], draws[order[0]])]
        if settings.iterations and np.all(bounds[:, 1] > bounds[:, 0]):
            for start in [*draws[order[: settings.starts]], *extra]:
                if settings.method == "gradient":
                    result = scipy.optimize.minimize(loss_with_gradient, start, jac=True, method="L-BFGS-B",
                                                     bounds=bounds, options={"maxiter": settings.iterations})
                else:
                    result = scipy.optimize.minimize(loss, start, method="Nelder-Mead", bounds=bounds, options={
                        "maxiter": settings.iterations, "xatol": 1e-3, "fatol": 1e-6})
                optima.append((result.fun, np.clip(result.x, bounds[:, 0], bounds[:, 1])))
        finalists = [z for _, z in sorted(optima, key=lambda pair: pair[0])]  # stable: the first of equals
        best = finalists[0]
        if settings.targets is not None:
            ratios = np.array([settings.targets.ratio(t.per_atom, t.forces) for t in drawn])
            order = np.argsort(ratios, kind="stable")  # the draws by the targets from here on
            starts = [best, *extra] + [draws[i] for i in order[:TARGET_STARTS]]
            finalists = _meet_targets(trials, settings.targets, settings.iterations, bounds, starts)
            best = finalists[0]
        rescored = None
        if deployed is not None:
            # The deployed SVD keeps singular values the normal equations cannot resolve (its rcond is below
            # sqrt(eps)), so the search's optima are ranked again by the deployed solve itself.
            finalists = (finalists + [draws[i] for i in order])[:RESCORED]  # then the best draws
            scored = [trials(z, deployed=deployed) for z in finalists]
            if settings.targets is None:
                merit = [combined(t.loss_energy, t.forces) for t in scored]
            else:
                merit = [settings.targets.ratio(t.per_atom, t.forces) for t in scored]
            chosen_index = int(np.argmin(merit))
            best, final, rescored = finalists[chosen_index], scored[chosen_index], len(finalists)
        else:
            final = trials(best)
        energy, forces, per_atom = final.loss_energy, final.forces, final.per_atom
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
        solves=trials.solves, seconds=time.perf_counter() - started, target_ratio=ratio, rescored=rescored,
    )
    log.info("SNAP weight search: validation L %.4g (E %.3g meV/atom, F %.3g meV/A%s) after %d solves, %.1f s",
             searched.loss, per_atom, forces, "" if ratio is None else f", {ratio:.4g} x the targets", trials.solves,
             searched.seconds)
    return searched


@dataclass
class _Trial:
    """Validation errors at one choice of log-weights (meV units), with their gradients when asked for."""

    loss_energy: float  # L_E: RMSE of energies over sqrt(N) (meV)
    forces: float  # force RMSE of the loss's kind (meV/Å)
    per_atom: float  # energy RMSE (meV/atom)
    d_loss_energy: np.ndarray | None = None
    d_forces: np.ndarray | None = None
    d_per_atom: np.ndarray | None = None


class _Trials:
    """The weighted solve at log-weights z (one per block of ``blocks.searched``), scored on the validation
    rows; counts the solves."""

    def __init__(self, blocks: WeightBlocks, ridge: float, force_factor: float):
        self.blocks, self.ridge, self.force_factor, self.solves = blocks, ridge, force_factor, 0

    def __call__(self, z: np.ndarray, gradient: bool = False, deployed: SvdSolver | None = None) -> _Trial:
        """The errors at log-weights z; with ``deployed``, of that SVD solve instead (without gradients)."""
        self.solves += 1
        squared = {k: float(np.exp(2.0 * v)) for k, v in zip(self.blocks.searched, z)}
        dx = None
        if deployed is not None:
            x = self.blocks.solve_svd(squared, deployed)
        elif gradient:
            x, dx = self.blocks.solve_with_gradient(squared, self.ridge)
        else:
            x = self.blocks.solve(squared, self.ridge)
        energy, forces = self.blocks.residuals(x)
        per_atom = energy / self.blocks.sqrt_atoms
        factor = MEV_PER_EV * self.force_factor
        trial = _Trial(MEV_PER_EV * _rms(energy), factor * _rms(forces), MEV_PER_EV * _rms(per_atom))
        if dx is not None:
            d_energy = self.blocks.energy[0] @ dx
            trial.d_loss_energy = MEV_PER_EV * _rms_gradient(energy, d_energy)
            trial.d_forces = factor * _rms_gradient(forces, self.blocks.forces[0] @ dx)
            trial.d_per_atom = MEV_PER_EV * _rms_gradient(per_atom, d_energy / self.blocks.sqrt_atoms[:, None])
        return trial


def _rms_gradient(values: np.ndarray, derivatives: np.ndarray) -> np.ndarray:
    """The gradient of rms(u), mean(u du) / rms(u) (zero where rms(u) is zero)."""
    rms = _rms(values)
    if rms == 0.0:
        return np.zeros(derivatives.shape[1])
    return (values @ derivatives) / (values.size * rms)


def _meet_targets(trials: _Trials, targets: ErrorTargets, iterations: int, bounds: np.ndarray,
                  starts: list[np.ndarray]) -> list[np.ndarray]:
    """The log-weights with the smallest max(E / E_target, F / F_target): a Chebyshev scalarisation, the point
    of the energy/force trade-off nearest both targets in proportion.

    The maximum has a kink where the two ratios cross, which is where its minimum usually lies, and
    Nelder-Mead stalls there (seeds of one search differed by 3 % on Mo). So the search is the smooth
    equivalent: minimise t subject to E / E_target <= t and F / F_target <= t within the ranges, by SLSQP with
    the ratios' exact gradients (:meth:`WeightBlocks.solve_with_gradient`). The problem is not convex, so it
    starts from each of ``starts`` (the loss's optimum and the draws that score best). Returns the point each
    start reached, best first (a start itself where SLSQP made it worse)."""
    cache: dict[bytes, tuple] = {}
    scale = np.array([targets.energy_meV_per_atom, targets.forces_meV_per_A])

    def evaluate(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = np.clip(z, bounds[:, 0], bounds[:, 1])
        key = z.tobytes()
        if key not in cache:
            trial = trials(z, gradient=True)
            cache.clear()
            cache[key] = (np.array([trial.per_atom, trial.forces]) / scale,
                          np.vstack([trial.d_per_atom, trial.d_forces]) / scale[:, None])
        return cache[key]

    def ratio(z: np.ndarray) -> float:
        values = evaluate(z)[0]
        return float(values.max()) if np.all(np.isfinite(values)) else np.inf

    n = bounds.shape[0]
    constraints = {"type": "ineq", "fun": lambda y: y[n] - evaluate(y[:n])[0],
                   "jac": lambda y: np.hstack([-evaluate(y[:n])[1], np.ones((2, 1))])}
    reached = []
    for start in starts:
        value = ratio(start)
        if np.isfinite(value):
            result = scipy.optimize.minimize(
                lambda y: y[n], np.append(start, value), jac=lambda y: np.eye(n + 1)[n], method="SLSQP",
                bounds=[*map(tuple, bounds), (0.0, None)], constraints=[constraints],
                options={"maxiter": max(iterations, 1), "ftol": 1e-10})
            z = np.clip(result.x[:n], bounds[:, 0], bounds[:, 1])
            reached_value = ratio(z)  # the point's own maximum, not SLSQP's t (which may violate a constraint)
            if reached_value < value:
                start, value = z, reached_value
        reached.append((value, start))
    return [z for _, z in sorted(reached, key=lambda pair: pair[0])]


def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(values**2))) if values.size else 0.0
