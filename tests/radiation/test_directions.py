"""PKA directions: Miller indices, the golden-angle spiral, the cubic wedge and solid-angle weights."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simkit.radiation.directions import (
    cubic_operations,
    fibonacci_directions,
    fibonacci_directions_irreducible,
    in_cubic_wedge,
    parse_direction,
    reduce_to_cubic_wedge,
    stereographic,
    voronoi_weights,
)

SQRT_HALF = math.sqrt(0.5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("110", [SQRT_HALF, SQRT_HALF, 0.0]),
        ("1 1 0", [SQRT_HALF, SQRT_HALF, 0.0]),
        ("-1 1 0", [-SQRT_HALF, SQRT_HALF, 0.0]),
        ("[1-10]", [SQRT_HALF, -SQRT_HALF, 0.0]),
        ("<001>", [0.0, 0.0, 1.0]),
        ("2, 0, 0", [1.0, 0.0, 0.0]),
        ([1, 1, 1], [1 / math.sqrt(3)] * 3),
        ((0, 3, 4), [0.0, 0.6, 0.8]),
    ],
)
def test_parse_direction(text, expected):
    assert parse_direction(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "message"),
    [("000", "zero length"), ([0, 0, 0], "zero length"), ("11", "three Miller"), ("1 1 1 1", "three Miller"),
     ("a b c", "three Miller"), ([1, 2], "three numbers"), ([1, float("nan"), 0], "finite")],
)
def test_parse_direction_refuses(value, message):
    with pytest.raises(ValueError, match=message):
        parse_direction(value)


def test_fibonacci_directions_are_unit_and_even():
    directions = fibonacci_directions(500)
    assert directions.shape == (500, 3)
    assert np.linalg.norm(directions, axis=1) == pytest.approx(np.ones(500))
    assert directions.mean(axis=0) == pytest.approx(np.zeros(3), abs=5e-3)
    weights = voronoi_weights(directions)
    assert weights.sum() == pytest.approx(1.0)
    assert weights.min() > 0.9 / 500 and weights.max() < 1.1 / 500


def test_the_wedge_is_the_standard_triangle():
    corners = np.array([[0, 0, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
    assert in_cubic_wedge(corners).all()
    assert not in_cubic_wedge(np.array([[0, 1, 1], [1, 0, 0], [0, 0, -1.0]])).any()
    images = np.einsum("oij,j->oi", cubic_operations(), np.array([3.0, 1.0, 2.0]))
    assert len(np.unique(images, axis=0)) == 48
    reduced = reduce_to_cubic_wedge(images)
    assert in_cubic_wedge(reduced).all()
    assert reduced == pytest.approx(np.tile(np.array([2.0, 1.0, 3.0]) / math.sqrt(14), (48, 1)))


def test_irreducible_spiral_is_a_48th_of_it():
    wedge = fibonacci_directions_irreducible(4800)
    assert in_cubic_wedge(wedge).all()
    assert len(wedge) == pytest.approx(100, abs=5)


def test_wedge_weights_integrate_cubic_invariants():
    # x^4 + y^4 + z^4 has the cube's symmetry; its sphere average is 3 <x^4> = 3/5.
    wedge = fibonacci_directions_irreducible(4800)
    weights = voronoi_weights(wedge, cubic_symmetry=True)
    assert weights.sum() == pytest.approx(1.0)
    assert np.sum(weights * np.sum(wedge**4, axis=1)) == pytest.approx(0.6, abs=2e-3)
    # Unweighted, the mean is biased (the wedge's points near its edges stand for less solid angle).
    assert abs(np.mean(np.sum(wedge**4, axis=1)) - 0.6) > abs(np.sum(weights * np.sum(wedge**4, axis=1)) - 0.6)


def test_wedge_weights_equal_full_tessellation_summed_over_images():
    wedge = np.array([[0, 0, 1], [1, 0, 1], [1, 1, 1], [2, 1, 3], [1, 0, 3], [3, 1, 4]], dtype=float)
    wedge /= np.linalg.norm(wedge, axis=1)[:, None]
    images, owner = [], []
    for index, direction in enumerate(wedge):
        distinct = np.unique(np.round(np.einsum("oij,j->oi", cubic_operations(), direction), 12), axis=0)
        images.append(distinct)
        owner += [index] * len(distinct)
    full = voronoi_weights(np.vstack(images))
    summed = np.bincount(owner, weights=full)
    assert voronoi_weights(wedge, cubic_symmetry=True) == pytest.approx(summed, rel=1e-9)
    # [001] has 6 images, [101] 12, [111] 8, a general direction 48.
    assert [len(i) for i in images] == [6, 12, 8, 48, 24, 48]


def test_equivalent_directions_are_refused():
    with pytest.raises(ValueError, match="images of each other"):
        voronoi_weights(np.array([[0, 0, 1], [1, 0, 0], [1, 1, 1], [1, 0, 1.0]]), cubic_symmetry=True)
    with pytest.raises(ValueError, match="same direction"):
        voronoi_weights(np.array([[0, 0, 1], [0, 0, 2], [1, 0, 0], [0, 1, 0], [1, 1, 1.0]]))


def test_stereographic_projection():
    points = stereographic(np.array([[0, 0, 1], [1, 0, 1], [1, 1, 1], [1, 0, 0]], dtype=float))
    assert points == pytest.approx(np.array([[0, 0], [math.sqrt(2) - 1, 0], [0.3660254, 0.3660254], [1, 0]]))
    with pytest.raises(ValueError, match="no stereographic image"):
        stereographic(np.array([[0, 0, -1.0]]))
