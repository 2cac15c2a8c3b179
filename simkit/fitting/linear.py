"""Weighted linear least squares for linear models (SNAP): truncated SVD or ridge.

Minimises sum_r (w_r (A_r x - b_r))^2 (+ alpha ||D x||^2 for ridge). Columns
of the weighted matrix are scaled to unit norm before the decomposition, so
``rcond`` and ``alpha`` do not depend on descriptor magnitudes (quadratic
SNAP columns span many orders of magnitude); ``D`` is that column scaling.
All-zero columns (an element absent from the data, a constant descriptor)
get coefficient 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, Union

import numpy as np
import scipy.linalg
from pydantic import Field

from simkit.config.schema import Schema
from simkit.errors import RunFailed


class SvdSolver(Schema):
    """Truncated SVD: singular values below ``rcond`` times the largest are dropped."""

    kind: Literal["svd"]
    rcond: float = Field(default=1e-10, gt=0, lt=1)


class RidgeSolver(Schema):
    """Ridge regression with penalty ``alpha`` on the coefficients of unit-norm columns."""

    kind: Literal["ridge"]
    alpha: float = Field(default=1e-8, ge=0)


SolverSpec = Annotated[Union[SvdSolver, RidgeSolver], Field(discriminator="kind")]


@dataclass
class LinearSolution:
    coefficients: np.ndarray
    rank: int  # singular values kept (SVD) or non-zero (ridge)
    condition_number: float  # of the column-scaled weighted matrix, over kept values
    weighted_rms_residual: float


def _svd(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        return scipy.linalg.svd(matrix, full_matrices=False, lapack_driver="gesdd")
    except np.linalg.LinAlgError:  # gesdd occasionally fails to converge; gesvd is slower but robust
        return scipy.linalg.svd(matrix, full_matrices=False, lapack_driver="gesvd")


def solve_weighted(
    matrix: np.ndarray, target: np.ndarray, weights: np.ndarray, solver: SvdSolver | RidgeSolver
) -> LinearSolution:
    """Solve the weighted problem; ``matrix`` is (rows, cols), ``target`` and ``weights`` are (rows,)."""
    if matrix.shape[0] != target.shape[0] or target.shape != weights.shape:
        raise ValueError(f"shapes disagree: A {matrix.shape}, b {target.shape}, w {weights.shape}")
    if not (np.all(np.isfinite(matrix)) and np.all(np.isfinite(target))):
        raise RunFailed("the least-squares system contains non-finite numbers (check the data and descriptors)")
    weighted = matrix * weights[:, None]
    rhs = target * weights
    norms = np.linalg.norm(weighted, axis=0)
    live = norms > 0
    scaled = weighted[:, live] / norms[live]
    u, s, vt = _svd(scaled)
    if s.size == 0 or s[0] == 0:
        raise RunFailed("the least-squares system is empty or all zero: nothing to fit")
    projected = u.T @ rhs
    if isinstance(solver, SvdSolver):
        keep = s > solver.rcond * s[0]
        factors = np.zeros_like(s)
        factors[keep] = 1.0 / s[keep]
    else:
        keep = s > 0
        factors = s / (s * s + solver.alpha)
    x_scaled = vt.T @ (factors * projected)
    coefficients = np.zeros(matrix.shape[1])
    coefficients[live] = x_scaled / norms[live]
    residual = weighted @ coefficients - rhs
    kept = s[keep]
    return LinearSolution(
        coefficients=coefficients,
        rank=int(keep.sum()),
        condition_number=float(kept[0] / kept[-1]) if kept.size else float("inf"),
        weighted_rms_residual=float(np.sqrt(np.mean(residual**2))),
    )
