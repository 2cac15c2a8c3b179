"""Spherical harmonics of bond directions, complex and real, from a stable recursion.

Normalised associated Legendre functions are built by the standard three-term
recursion in l at fixed m (stable for the l <= 12 used here), with the
Condon-Shortley phase, so ``Y_l^m`` matches the usual physics convention
(e.g. scipy's ``sph_harm_y``): ``Y_l^m(θ, φ) = P̄_l^m(cos θ) e^{imφ}`` with
``∫|Y_l^m|² dΩ = 1`` and ``Y_l^{-m} = (-1)^m conj(Y_l^m)``.
"""

from __future__ import annotations

import numpy as np


def _legendre_table(lmax: int, cos_theta: np.ndarray) -> np.ndarray:
    """P̄_l^m(x) for 0 <= m <= l <= lmax, shape (lmax+1, lmax+1, P), unit-sphere normalised."""
    x = np.asarray(cos_theta, dtype=float)
    sin_theta = np.sqrt(np.clip(1.0 - x * x, 0.0, None))
    table = np.zeros((lmax + 1, lmax + 1, x.size))
    table[0, 0] = 1.0 / np.sqrt(4.0 * np.pi)
    for m in range(1, lmax + 1):
        table[m, m] = -np.sqrt((2 * m + 1) / (2.0 * m)) * sin_theta * table[m - 1, m - 1]
    for m in range(0, lmax):
        table[m + 1, m] = np.sqrt(2 * m + 3.0) * x * table[m, m]
    for m in range(0, lmax + 1):
        for l in range(m + 2, lmax + 1):
            a = np.sqrt((4.0 * l * l - 1.0) / (l * l - m * m))
            b = np.sqrt(((l - 1.0) ** 2 - m * m) / (4.0 * (l - 1.0) ** 2 - 1.0))
            table[l, m] = a * (x * table[l - 1, m] - b * table[l - 2, m])
    return table


def _angles(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vectors = np.asarray(vectors, dtype=float)
    norms = np.linalg.norm(vectors, axis=1)
    if np.any(norms == 0):
        raise ValueError("spherical harmonics of a zero-length vector are undefined")
    cos_theta = np.clip(vectors[:, 2] / norms, -1.0, 1.0)
    phi = np.arctan2(vectors[:, 1], vectors[:, 0])
    return cos_theta, phi


def complex_harmonics(l: int, vectors: np.ndarray) -> np.ndarray:
    """Y_l^m of each vector's direction for m = -l..l: shape (P, 2l+1), column m + l."""
    cos_theta, phi = _angles(vectors)
    legendre = _legendre_table(l, cos_theta)[l]  # (l+1, P): m = 0..l
    out = np.empty((len(cos_theta), 2 * l + 1), dtype=complex)
    for m in range(0, l + 1):
        positive = legendre[m] * np.exp(1j * m * phi)
        out[:, l + m] = positive
        if m:
            out[:, l - m] = (-1) ** m * np.conj(positive)
    return out


def real_harmonics(lmax: int, vectors: np.ndarray) -> np.ndarray:
    """An orthonormal real basis of harmonics up to ``lmax``: shape (P, (lmax+1)^2).

    Column ``l*l + l + m`` holds degree l, order m (m < 0: sine parts, m > 0:
    cosine parts, each times sqrt 2). Rotation-invariant sums over m equal
    those of the complex harmonics.
    """
    cos_theta, phi = _angles(vectors)
    legendre = _legendre_table(lmax, cos_theta)
    out = np.empty((len(cos_theta), (lmax + 1) ** 2))
    root2 = np.sqrt(2.0)
    for l in range(lmax + 1):
        centre = l * l + l
        out[:, centre] = legendre[l, 0]
        for m in range(1, l + 1):
            out[:, centre + m] = root2 * legendre[l, m] * np.cos(m * phi)
            out[:, centre - m] = root2 * legendre[l, m] * np.sin(m * phi)
    return out


def degree_of_column(lmax: int) -> np.ndarray:
    """The degree l of each column of :func:`real_harmonics`."""
    return np.repeat(np.arange(lmax + 1), 2 * np.arange(lmax + 1) + 1)
