"""SOAP power spectra and the SOAP kernel similarity of atomic environments.

Smooth Overlap of Atomic Positions (Bartók, Kondor & Csányi, PRB 87, 184115,
2013), implemented from its definition:

* neighbour density of atom i (itself excluded), one channel per species Z:
  ``ρ_i^Z(r) = Σ_{j∈Z} f_c(r_ij) exp(-|r - r_ij|² / 2σ²)``, with the cosine
  cutoff ``f_c`` falling from 1 to 0 over the last ``cutoff_width_A`` before
  ``cutoff_A``;
* expansion ``c^Z_nlm = ∫ g_n(r) Y_lm(r̂) ρ^Z(r) d³r``. The angular integral of
  a Gaussian is analytic, giving the radial integral
  ``I_nl(d) = 4π ∫ r² g_n(r) exp(-(r² + d²)/2σ²) i_l(r d/σ²) dr`` (``i_l`` the
  modified spherical Bessel function), tabulated once on a grid of d;
* radial basis: ``n_max`` Gaussians of width ``cutoff_A/n_max`` centred evenly
  on [0, cutoff_A], orthonormalised (Löwdin) with weight r² on [0, cutoff_A];
* power spectrum ``p^{ZZ'}_{nn'l} = Σ_m c^Z_nlm c^Z'_n'lm`` (real harmonics:
  the sum over m is the same rotation invariant), normalised to unit length;
* kernel ``k(i, j) = (p̂_i · p̂_j)^ζ``, 1 for identical environments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.sparse
from scipy.special import spherical_in

from simkit.analysis.harmonics import degree_of_column, real_harmonics
from simkit.analysis.neighbors import NeighbourSearch

_RADIAL_GRID = 1025  # points in the tabulated radial integrals I_nl(d)
_QUADRATURE = 400  # points of the r integral
_PAIR_CHUNK = 200_000  # pairs per block (bounds memory: block x n_max x (l_max+1)^2 floats)
ATOM_BLOCK = 10_000  # centre atoms per block: ~150 MB of pairs and coefficients at the defaults


@dataclass(frozen=True)
class SoapParameters:
    """SOAP hyperparameters (Å); ``zeta`` is the kernel exponent."""

    cutoff_A: float = 5.0
    sigma_A: float = 0.5
    n_max: int = 8
    l_max: int = 6
    cutoff_width_A: float = 1.0
    zeta: float = 4.0

    def __post_init__(self) -> None:
        if not (0 < self.cutoff_width_A <= self.cutoff_A and self.sigma_A > 0 and self.n_max >= 1
                and 0 <= self.l_max <= 12 and self.zeta > 0):
            raise ValueError(f"invalid SOAP parameters {self}")


class SoapDescriptor:
    """Computes normalised SOAP power spectra for every atom of a configuration."""

    def __init__(self, parameters: SoapParameters, species: Sequence[int]):
        self.parameters = parameters
        self.species = tuple(int(z) for z in species)  # atomic numbers, the density channels
        self._grid = np.linspace(0.0, parameters.cutoff_A, _RADIAL_GRID)
        self._table = self._radial_table()  # (grid, n_max, l_max+1)
        self._degree = degree_of_column(parameters.l_max)
        channels = len(self.species) * parameters.n_max
        self._upper = np.triu_indices(channels)
        # sqrt 2 on off-diagonal products keeps p_i · p_j equal to the full double sum.
        self._weights = np.where(self._upper[0] == self._upper[1], 1.0, np.sqrt(2.0))

    @property
    def size(self) -> int:
        return len(self._upper[0]) * (self.parameters.l_max + 1)

    def _radial_table(self) -> np.ndarray:
        p = self.parameters
        r = np.linspace(0.0, p.cutoff_A, _QUADRATURE)
        dr = r[1] - r[0]
        quad = np.full(_QUADRATURE, dr)
        quad[[0, -1]] *= 0.5  # trapezoid weights
        centres = np.linspace(0.0, p.cutoff_A, p.n_max)
        width = p.cutoff_A / p.n_max
        basis = np.exp(-((r[None, :] - centres[:, None]) ** 2) / (2 * width**2))  # (n, r)
        overlap = (basis * r**2 * quad) @ basis.T
        values, vectors = np.linalg.eigh(overlap)
        lowdin = vectors @ np.diag(values ** -0.5) @ vectors.T
        basis = lowdin @ basis
        d = self._grid
        sigma2 = p.sigma_A**2
        x = np.outer(d, r) / sigma2  # (d, r)
        gauss = np.exp(-((d[:, None] - r[None, :]) ** 2) / (2 * sigma2))  # exp(-(r²+d²)/2σ²) e^{x}
        table = np.empty((len(d), p.n_max, p.l_max + 1))
        for l in range(p.l_max + 1):
            # i_l(x) e^{-x} is bounded; together with gauss this is the stable product.
            kernel = 4.0 * np.pi * gauss * spherical_in(l, x) * np.exp(-x)
            table[:, :, l] = (kernel * r**2 * quad) @ basis.T
        return table * self._cutoff_function(d)[:, None, None]

    def _cutoff_function(self, d: np.ndarray) -> np.ndarray:
        p = self.parameters
        inner = p.cutoff_A - p.cutoff_width_A
        f = np.ones_like(d)
        edge = d > inner
        f[edge] = 0.5 * (1.0 + np.cos(np.pi * (d[edge] - inner) / p.cutoff_width_A))
        f[d >= p.cutoff_A] = 0.0
        return f

    def _radial(self, d: np.ndarray) -> np.ndarray:
        """I_nl(d) by linear interpolation of the table: (P, n_max, l_max+1)."""
        step = self._grid[1] - self._grid[0]
        position = np.clip(d / step, 0, _RADIAL_GRID - 1 - 1e-9)
        low = position.astype(np.int64)
        frac = (position - low)[:, None, None]
        return self._table[low] * (1.0 - frac) + self._table[low + 1] * frac

    def compute(self, positions: np.ndarray, cell: np.ndarray, pbc, numbers: np.ndarray, *,
                dtype=np.float64, block_atoms: int = ATOM_BLOCK) -> np.ndarray:
        """Unit-length power spectra (N, size) of one configuration, in ``dtype``.

        Atoms are taken ``block_atoms`` centres at a time, so the transient memory
        (pairs, coefficients) is bounded whatever the frame's size; the result
        itself is N x size (952 values per atom for two species at n_max 8, l_max 6).
        """
        natoms = len(positions)
        channel_of = {z: k for k, z in enumerate(self.species)}
        unknown = sorted(set(np.unique(numbers).tolist()) - set(channel_of))
        if unknown:
            raise ValueError(f"atomic numbers {unknown} are not among the SOAP species {list(self.species)}")
        channel = np.array([channel_of[int(z)] for z in numbers], dtype=np.int64)
        search = NeighbourSearch(positions, cell, pbc, self.parameters.cutoff_A)
        spectra = np.empty((natoms, self.size), dtype=dtype)
        for start in range(0, natoms, block_atoms):
            centres = np.arange(start, min(start + block_atoms, natoms))
            spectra[centres] = self._block(search.pairs(centres), channel, start, len(centres))
        return spectra

    def _block(self, pairs, channel: np.ndarray, start: int, count: int) -> np.ndarray:
        """Spectra of the ``count`` atoms from ``start`` whose pairs are ``pairs``."""
        p = self.parameters
        nspecies = len(self.species)
        nharm = (p.l_max + 1) ** 2
        coefficients = np.zeros((count * nspecies, p.n_max * nharm))
        rows = (pairs.i - start) * nspecies + channel[pairs.j]
        for first in range(0, len(rows), _PAIR_CHUNK):
            block = slice(first, first + _PAIR_CHUNK)
            radial = self._radial(pairs.distances[block])[:, :, self._degree]  # (P, n, lm)
            angular = real_harmonics(p.l_max, pairs.vectors[block])  # (P, lm)
            values = (radial * angular[:, None, :]).reshape(len(angular), -1)
            scatter = scipy.sparse.csr_matrix(
                (np.ones(len(angular)), (rows[block], np.arange(len(angular)))),
                shape=(count * nspecies, len(angular)),
            )
            coefficients += scatter @ values
        # (N, species*n, lm) -> power spectrum over channel pairs and degrees.
        c = coefficients.reshape(count, nspecies * p.n_max, nharm)
        spectrum = np.empty((count, len(self._upper[0]), p.l_max + 1))
        for l in range(p.l_max + 1):
            cols = slice(l * l, (l + 1) ** 2)
            block = np.einsum("iam,ibm->iab", c[:, :, cols], c[:, :, cols])
            spectrum[:, :, l] = block[:, self._upper[0], self._upper[1]] * self._weights
        spectrum = spectrum.reshape(count, -1)
        norms = np.linalg.norm(spectrum, axis=1, keepdims=True)
        return np.divide(spectrum, norms, out=np.zeros_like(spectrum), where=norms > 0)

    def kernel(self, spectra: np.ndarray, references: np.ndarray) -> np.ndarray:
        """``(p̂ · p̂_ref)^ζ`` for every atom against every reference: (N, R)."""
        dots = np.clip(spectra @ references.T, 0.0, 1.0)
        return dots**self.parameters.zeta


def unique_environments(spectra: np.ndarray, tolerance: float = 1e-6) -> np.ndarray:
    """Distinct rows of ``spectra`` (environments equal up to ``tolerance`` kept once)."""
    kept: list[np.ndarray] = []
    for row in spectra:
        if not any(np.abs(row - other).max() < tolerance for other in kept):
            kept.append(row)
    return np.array(kept)
