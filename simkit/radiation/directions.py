"""Directions of primary knock-on atoms: Miller indices, quasi-uniform sets, their solid-angle weights.

A threshold displacement energy or a cascade depends on the direction the PKA
starts in. Averages over directions need directions spread evenly over the
sphere and the solid angle each one stands for. In a cubic crystal every
direction is equivalent to one in the standard stereographic triangle
[001]-[101]-[111], i.e. 0 <= y <= x <= z (1/48 of the sphere), so a survey may
sample that wedge only, if each direction is weighted by the solid angle of all
its symmetry images (:func:`voronoi_weights` with ``cubic_symmetry=True``).
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import SphericalVoronoi, cKDTree

# The golden angle pi (3 - sqrt 5): successive spiral points turn by it.
GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))
# Directions closer than this (in the unit-vector components) are one direction.
_SAME_DIRECTION = 1e-9
# Tolerance of the wedge inequalities, so directions on its edges count as inside.
_WEDGE_TOLERANCE = 1e-12

_MILLER_BRACKETS = "[]<>()"


def parse_direction(value: str | Sequence[float]) -> np.ndarray:
    """A unit vector from Miller indices: ``[1, 1, 0]``, ``"110"``, ``"1 1 0"``, ``"-1 1 0"``, ``"[1-10]"``.

    A string without spaces or commas is read one digit per index, each
    optionally preceded by a minus sign (``"1-10"`` is [1, -1, 0]); with spaces
    or commas the indices may have several digits or decimals. Raises
    ValueError (as pydantic validators expect, so a config error names the
    key) for anything else and for the zero vector.
    """
    if isinstance(value, str):
        text = value.strip().strip(_MILLER_BRACKETS).strip()
        if re.search(r"[\s,]", text):
            words = [w for w in re.split(r"[\s,]+", text) if w]
        else:
            words = re.findall(r"-?\d", text) if re.fullmatch(r"(-?\d)+", text) else []
        try:
            indices = [float(w) for w in words]
        except ValueError:
            indices = []
        if len(indices) != 3:
            raise ValueError(f"direction {value!r}: expected three Miller indices such as '110', '1 1 0' or '-1 1 0'")
    else:
        try:
            indices = [float(v) for v in value]
        except (TypeError, ValueError):
            raise ValueError(f"direction {value!r}: expected three numbers") from None
        if len(indices) != 3:
            raise ValueError(f"direction {value!r}: expected three numbers, got {len(indices)}")
    vector = np.array(indices, dtype=float)
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"direction {value!r}: indices must be finite")
    length = float(np.linalg.norm(vector))
    if length == 0.0:
        raise ValueError(f"direction {value!r} has zero length; a PKA direction needs a non-zero index")
    return vector / length


def _unit_rows(directions: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    vectors = np.asarray(directions, dtype=float)
    if vectors.ndim != 2 or vectors.shape[1] != 3:
        raise ValueError(f"directions must have shape (n, 3), got {vectors.shape}")
    lengths = np.linalg.norm(vectors, axis=1)
    if not np.all(np.isfinite(lengths)) or np.any(lengths == 0):
        raise ValueError("directions must be finite and non-zero")
    return vectors / lengths[:, None]


def fibonacci_directions(n: int) -> np.ndarray:
    """``n`` quasi-uniform unit vectors (n, 3) on the golden-angle spiral.

    Point i sits at height z = 1 - (2 i + 1) / n (equal-area bands) and azimuth
    i times the golden angle; every point stands for about 4 pi / n of solid angle.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    index = np.arange(n, dtype=float)
    z = 1.0 - (2.0 * index + 1.0) / n
    radius = np.sqrt(np.clip(1.0 - z * z, 0.0, None))
    azimuth = GOLDEN_ANGLE * index
    return np.column_stack([radius * np.cos(azimuth), radius * np.sin(azimuth), z])


def in_cubic_wedge(directions: np.ndarray) -> np.ndarray:
    """Whether each direction lies in the standard triangle [001]-[101]-[111] (0 <= y <= x <= z)."""
    v = _unit_rows(directions)
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    tol = _WEDGE_TOLERANCE
    return (y >= -tol) & (y <= x + tol) & (x <= z + tol)


def reduce_to_cubic_wedge(directions: np.ndarray) -> np.ndarray:
    """The image of each direction in the standard triangle under the 48 cubic operations.

    Taking absolute values (the sign flips) and sorting the components (the
    permutations) gives a <= b <= c; the triangle [001]-[101]-[111] holds (b, a, c).
    """
    v = np.sort(np.abs(_unit_rows(directions)), axis=1)
    return v[:, [1, 0, 2]]


def fibonacci_directions_irreducible(n: int) -> np.ndarray:
    """Those of the ``n`` spiral directions (:func:`fibonacci_directions`) inside the cubic wedge.

    ``n`` counts the whole sphere; about n / 48 directions come back, as
    evenly spread as the full set. Weight them with
    ``voronoi_weights(..., cubic_symmetry=True)``.
    """
    directions = fibonacci_directions(n)
    return directions[in_cubic_wedge(directions)]


def cubic_operations() -> np.ndarray:
    """The 48 proper and improper rotations of the cube (m-3m) as (48, 3, 3) signed permutation matrices."""
    operations = []
    for permutation in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            matrix = np.zeros((3, 3))
            for row, (column, sign) in enumerate(zip(permutation, signs)):
                matrix[row, column] = sign
            operations.append(matrix)
    return np.array(operations)


def voronoi_weights(directions: np.ndarray, *, cubic_symmetry: bool = False) -> np.ndarray:
    """Solid-angle weights (n,) of ``directions``, summing to 1, from a spherical Voronoi tessellation.

    Each direction's weight is the area of its Voronoi cell on the unit sphere
    over 4 pi. With ``cubic_symmetry=True`` the directions are taken to stand for
    all their images under the 48 cubic operations (e.g. a set restricted to
    the irreducible wedge): the tessellation is made of all distinct images and
    each direction gets the summed area of its own, so directions on the
    wedge's edges (fewer distinct images) weigh less, as they should. Two
    directions that are images of each other are refused.
    """
    vectors = _unit_rows(directions)
    if cubic_symmetry:
        images = np.einsum("oij,nj->noi", cubic_operations(), vectors).reshape(-1, 3)
        owners = np.repeat(np.arange(len(vectors)), len(cubic_operations()))
    else:
        images, owners = vectors, np.arange(len(vectors))
    # Images closer than _SAME_DIRECTION are one point (a direction on a mirror plane is its own image).
    pairs = cKDTree(images).query_pairs(_SAME_DIRECTION, output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(images), len(images)))
    _, group = connected_components(graph, directed=False)
    _, first, inverse = np.unique(group, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    clash = owners != owners[first][inverse]
    if np.any(clash):
        one, other = owners[first][inverse][clash][0], owners[clash][0]
        relation = "images of each other under the cubic operations" if cubic_symmetry else "the same direction"
        raise ValueError(f"directions {one} and {other} are {relation}; give each direction once")
    unique = images[first]
    if len(unique) < 4:
        raise ValueError(f"a spherical tessellation needs at least 4 distinct directions, got {len(unique)}")
    areas = SphericalVoronoi(unique, radius=1.0, center=np.zeros(3)).calculate_areas()
    weights = np.bincount(owners[first], weights=areas, minlength=len(vectors))
    return weights / weights.sum()


def stereographic(directions: np.ndarray) -> np.ndarray:
    """Stereographic projection (n, 2) onto the (001) plane, from the [00-1] pole.

    A direction (x, y, z) lands at (x, y) / (1 + z): the upper hemisphere
    inside the unit circle ([001] at the centre, [101] at (0.414, 0)), the lower
    hemisphere outside it. [00-1] itself has no image (ValueError).
    """
    v = _unit_rows(directions)
    denominator = 1.0 + v[:, 2]
    if np.any(denominator < 1e-12):
        raise ValueError("the [00-1] direction has no stereographic image from the [00-1] pole")
    return v[:, :2] / denominator[:, None]
