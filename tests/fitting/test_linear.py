"""Weighted least squares: SVD truncation, ridge shrinkage, weights, empty columns."""

from __future__ import annotations

import numpy as np
import pytest

from simkit.errors import RunFailed
from simkit.fitting.linear import RidgeSolver, SvdSolver, solve_weighted


def test_consistent_system_is_solved_exactly_despite_column_scales(rng):
    matrix = rng.normal(size=(50, 4)) * np.array([1e-6, 1.0, 1e3, 1e6])
    truth = np.array([3e5, -2.0, 0.5, 1e-6])
    solution = solve_weighted(matrix, matrix @ truth, np.ones(50), SvdSolver(kind="svd"))
    assert solution.coefficients == pytest.approx(truth, rel=1e-9)
    assert solution.rank == 4 and solution.weighted_rms_residual < 1e-9


def test_weights_choose_which_rows_win():
    matrix = np.ones((2, 1))
    target = np.array([0.0, 1.0])
    heavy_second = solve_weighted(matrix, target, np.array([1.0, 10.0]), SvdSolver(kind="svd"))
    assert heavy_second.coefficients[0] == pytest.approx(100.0 / 101.0)


def test_zero_column_gets_zero_and_collinear_columns_are_truncated(rng):
    base = rng.normal(size=(30, 1))
    matrix = np.hstack([base, 2.0 * base, np.zeros((30, 1))])
    solution = solve_weighted(matrix, base[:, 0], np.ones(30), SvdSolver(kind="svd", rcond=1e-8))
    assert solution.rank == 1
    assert solution.coefficients[2] == 0.0
    assert matrix @ solution.coefficients == pytest.approx(base[:, 0])


def test_ridge_shrinks_towards_zero(rng):
    matrix = rng.normal(size=(40, 3))
    target = matrix @ np.array([1.0, -1.0, 2.0]) + 0.1 * rng.normal(size=40)
    loose = solve_weighted(matrix, target, np.ones(40), RidgeSolver(kind="ridge", alpha=1e-12))
    tight = solve_weighted(matrix, target, np.ones(40), RidgeSolver(kind="ridge", alpha=10.0))
    exact = np.linalg.lstsq(matrix, target, rcond=None)[0]
    assert loose.coefficients == pytest.approx(exact, rel=1e-6)
    assert np.linalg.norm(tight.coefficients) < 0.9 * np.linalg.norm(loose.coefficients)


def test_non_finite_system_is_refused():
    with pytest.raises(RunFailed, match="non-finite"):
        solve_weighted(np.array([[np.nan]]), np.array([1.0]), np.array([1.0]), SvdSolver(kind="svd"))
