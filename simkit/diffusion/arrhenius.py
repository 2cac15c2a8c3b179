"""Arrhenius fits: ln y = ln A - Ea / (k_B T), weighted by the uncertainties of y.

For diffusion y = D (A = D0); for conductivity the usual form for ionic
conductors is used, y = sigma T (sigma T = A exp(-Ea / k_B T), since
sigma is proportional to D / T), so D and sigma give comparable Ea.

With every uncertainty finite and positive the fit is weighted least squares
with sigma(ln y) = sigma(y) / y, and the parameter covariance is
(X^T W X)^-1 (absolute weights: Ea's uncertainty follows from the error bars
alone); chi^2 per degree of freedom is reported to show whether the error
bars explain the scatter. Otherwise the fit is unweighted and the
covariance is scaled by the residual variance (needs three or more points).

What two points cannot give (chi^2 per degree of freedom; every uncertainty of
an unweighted two-point fit) is written as null with a reason by
:meth:`ArrheniusFit.describe` (the convention of :mod:`simkit.diffusion.undefined`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from simkit.diffusion.undefined import finite_or_reason, put
from simkit.units import BOLTZMANN_EV_PER_K


@dataclass(frozen=True)
class ArrheniusFit:
    """Ea (eV) and the prefactor A (units of y; y * K for a sigma*T fit) with one-standard-deviation errors."""

    activation_eV: float
    activation_err_eV: float
    prefactor: float
    prefactor_err: float
    ln_prefactor: float
    ln_prefactor_err: float
    covariance: tuple[tuple[float, float], tuple[float, float]]  # of (ln A, Ea)
    chi2_per_dof: float
    weighted: bool
    temperatures_K: tuple[float, ...]
    quantity: str

    def predict(self, temperature_K: np.ndarray) -> np.ndarray:
        t = np.asarray(temperature_K, dtype=float)
        return np.exp(self.ln_prefactor - self.activation_eV / (BOLTZMANN_EV_PER_K * t))

    def describe(self) -> dict:
        data = asdict(self)
        data["temperatures_K"] = list(self.temperatures_K)
        no_spread = "an unweighted fit through two temperatures: no error bars, and no scatter to estimate them from"
        for key in ("activation_err_eV", "prefactor_err", "ln_prefactor_err"):
            finite_or_reason(data, key, getattr(self, key), no_spread)
        finite = all(np.isfinite(v) for row in self.covariance for v in row)
        put(data, "covariance", [list(row) for row in self.covariance], None if finite else no_spread)
        no_dof = ("two temperatures: a line through two points has no degrees of freedom"
                  if len(self.temperatures_K) == 2 else "unweighted fit: chi^2 needs error bars")
        finite_or_reason(data, "chi2_per_dof", self.chi2_per_dof, no_dof)
        return data


def fit_arrhenius(temperature_K, values, errors=None, *, quantity: str = "D") -> ArrheniusFit:
    """Fit ln(values) = ln A - Ea / (k_B T); ``errors`` are one-sigma uncertainties of ``values``."""
    t = np.asarray(temperature_K, dtype=float)
    y = np.asarray(values, dtype=float)
    if len(t) != len(y) or len(t) < 2:
        raise ValueError(f"an Arrhenius fit needs at least two temperatures, got {len(t)}")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(t))) or np.any(y <= 0) or np.any(t <= 0):
        raise ValueError("Arrhenius fits need finite positive values and temperatures")
    if len(np.unique(t)) < 2:
        raise ValueError("an Arrhenius fit needs at least two distinct temperatures")
    x = 1.0 / (BOLTZMANN_EV_PER_K * t)
    design = np.column_stack([np.ones_like(x), -x])
    ln_y = np.log(y)
    sigma = None if errors is None else np.asarray(errors, dtype=float) / y
    weighted = sigma is not None and bool(np.all(np.isfinite(sigma)) and np.all(sigma > 0))
    w = 1.0 / sigma**2 if weighted else np.ones_like(x)
    normal = design.T @ (w[:, None] * design)
    params = np.linalg.solve(normal, design.T @ (w * ln_y))
    residuals = ln_y - design @ params
    dof = len(t) - 2
    chi2 = float(np.sum(w * residuals**2))
    covariance = np.linalg.inv(normal)
    if not weighted:
        covariance = covariance * (chi2 / dof if dof > 0 else np.nan)
    ln_a, ea = (float(p) for p in params)
    ln_a_err, ea_err = (float(np.sqrt(covariance[i, i])) for i in range(2))
    return ArrheniusFit(
        activation_eV=ea, activation_err_eV=ea_err,
        prefactor=float(np.exp(ln_a)), prefactor_err=float(np.exp(ln_a) * ln_a_err),
        ln_prefactor=ln_a, ln_prefactor_err=ln_a_err,
        covariance=((float(covariance[0, 0]), float(covariance[0, 1])),
                    (float(covariance[1, 0]), float(covariance[1, 1]))),
        chi2_per_dof=chi2 / dof if (dof > 0 and weighted) else float("nan"),
        weighted=weighted, temperatures_K=tuple(float(v) for v in t), quantity=quantity,
    )
