"""Arrhenius fits recover a known activation energy from synthetic D(T), with an honest error bar."""

from __future__ import annotations

import numpy as np
import pytest

from simkit.diffusion.arrhenius import fit_arrhenius
from simkit.units import BOLTZMANN_EV_PER_K

TEMPERATURES = np.array([600.0, 700.0, 800.0, 900.0, 1023.0])
EA, D0 = 0.30, 2.0e-3  # eV, cm^2/s


def _arrhenius(t):
    return D0 * np.exp(-EA / (BOLTZMANN_EV_PER_K * t))


def test_exact_data_gives_exact_parameters():
    fit = fit_arrhenius(TEMPERATURES, _arrhenius(TEMPERATURES), 0.05 * _arrhenius(TEMPERATURES))
    assert fit.activation_eV == pytest.approx(EA, rel=1e-10)
    assert fit.prefactor == pytest.approx(D0, rel=1e-10)
    assert fit.chi2_per_dof == pytest.approx(0.0, abs=1e-16)
    assert fit.weighted
    np.testing.assert_allclose(fit.predict(TEMPERATURES), _arrhenius(TEMPERATURES), rtol=1e-10)
    # With 5 % errors on each D, Ea is known to a few meV: sigma = 0.05 / sqrt(sum (x - <x>)^2), x = 1/kT.
    x = 1 / (BOLTZMANN_EV_PER_K * TEMPERATURES)
    assert fit.activation_err_eV == pytest.approx(0.05 / np.sqrt(np.sum((x - x.mean()) ** 2)), rel=1e-10)


def test_noisy_data_recover_Ea_within_the_stated_uncertainty():
    pulls = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        relative = rng.uniform(0.03, 0.15, len(TEMPERATURES))  # each temperature its own error bar
        D = _arrhenius(TEMPERATURES) * (1 + relative * rng.normal(size=len(TEMPERATURES)))
        fit = fit_arrhenius(TEMPERATURES, D, relative * _arrhenius(TEMPERATURES))
        pulls.append((fit.activation_eV - EA) / fit.activation_err_eV)
    pulls = np.array(pulls)
    assert np.abs(pulls).max() < 3.5, pulls
    assert 0.7 < pulls.std() < 1.3 and abs(pulls.mean()) < 0.5, pulls


def test_without_error_bars_the_fit_is_unweighted_and_uses_the_scatter():
    rng = np.random.default_rng(1)
    D = _arrhenius(TEMPERATURES) * np.exp(0.05 * rng.normal(size=len(TEMPERATURES)))
    fit = fit_arrhenius(TEMPERATURES, D)
    assert not fit.weighted
    assert abs(fit.activation_eV - EA) < 4 * fit.activation_err_eV
    assert 0 < fit.activation_err_eV < 0.1


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="two temperatures"):
        fit_arrhenius([600.0], [1e-5])
    with pytest.raises(ValueError, match="positive"):
        fit_arrhenius([600.0, 700.0], [1e-5, -1e-5])
