"""Known diffusion coefficients are recovered within their stated uncertainty; the window rule behaves."""

from __future__ import annotations

import numpy as np
import pytest

from simkit.diffusion.analysis import analyse_trajectory
from simkit.diffusion.displacements import ArrayTrajectory
from simkit.diffusion.estimate import DiffusionEstimate, conductivity_prefactor_S_per_cm, nernst_einstein
from simkit.diffusion.settings import AnalysisSettings
from simkit.diffusion.window import local_slope
from tests.diffusion.synthetic import gaussian_walk, hopping, ou_walk, vibrating

LI, CL = 3, 17


def _analyse(positions, dt_ps, seed, numbers=None, charges=None, **settings):
    numbers = np.full(positions.shape[1], LI) if numbers is None else numbers
    source = ArrayTrajectory(positions, numbers, np.arange(len(positions)) * dt_ps, cell_A=np.eye(3) * 30.0)
    species = ["Li"] if charges is None else ["Li", "Cl"]
    return analyse_trajectory(source, 1000.0, species, AnalysisSettings(**settings),
                              rng=np.random.default_rng(seed), charges_e=charges, progress=False)


def test_bootstrap_error_covers_the_true_D_over_many_seeds():
    D_true, pulls, ratios = 0.4, [], []
    for seed in range(24):
        rng = np.random.default_rng(seed)
        result = _analyse(gaussian_walk(rng, 128, 400, D_true, 0.02), 0.02, seed)
        li = result.species["Li"]
        assert li.window.diffusive
        pulls.append((li.tracer.D_A2_per_ps - D_true) / li.tracer.D_err_A2_per_ps)
        ratios.append(li.tracer.D_err_A2_per_ps / li.tracer.details["standard_error_A2_per_ps"])
    pulls = np.array(pulls)
    # pull = (D - D_true) / sigma_D is standard normal when sigma_D is right. Over 100 seeds of this set-up
    # its spread was 0.97 and 1 % fell beyond 3 sigma, so 24 seeds are checked for: none beyond 3.5 sigma
    # (P = 1 % that one would be), about two thirds within 1 sigma (binomial bounds), spread near 1, no bias.
    assert np.abs(pulls).max() < 3.5, pulls
    assert 10 <= np.sum(np.abs(pulls) < 1.0) <= 22, pulls
    assert 0.6 < pulls.std() < 1.4, pulls
    assert abs(pulls.mean()) < 0.6, pulls
    # The bootstrap over particles agrees with the analytic standard error of the per-particle slopes.
    assert 0.85 < np.mean(ratios) < 1.15


def test_units_and_error_propagation_of_D():
    rng = np.random.default_rng(3)
    result = _analyse(gaussian_walk(rng, 100, 200, 0.25, 0.05), 0.05, 3)
    li = result.species["Li"].tracer
    assert li.D_cm2_per_s == pytest.approx(li.D_A2_per_ps * 1e-4)  # 1 Å^2/ps = 1e-4 cm^2/s
    assert li.ci95_A2_per_ps[0] < li.D_A2_per_ps < li.ci95_A2_per_ps[1]
    assert li.intercept_A2 == pytest.approx(0.0, abs=0.2)


def test_ballistic_start_is_left_out_of_the_window():
    rng = np.random.default_rng(11)
    tau = 6.0
    positions, D_true = ou_walk(rng, 120, 2400, 0.01, tau, 3.0)
    result = _analyse(positions, 0.01, 11)
    li = result.species["Li"]
    assert li.window.diffusive
    assert li.window.start_ps >= 8 * tau * 0.01  # slope > 1.1 before ~10 correlation times
    assert li.local_slope[0] > 1.8  # ballistic at the shortest lag
    assert abs(li.tracer.D_A2_per_ps - D_true) < 3 * li.tracer.D_err_A2_per_ps


def test_window_waits_for_gaussian_displacements_in_a_hopping_conductor():
    rng = np.random.default_rng(5)
    p = 0.02
    positions, D_true = hopping(rng, 200, 3000, 0.1, p, 2.5, 0.1)
    result = _analyse(positions, 0.1, 5)
    li = result.species["Li"]
    grid = result.displacements.grid_ps
    alpha2 = result.displacements.groups["Li"].alpha2
    assert alpha2.max() > 1.0  # strongly non-Gaussian before a few hops
    assert li.window.diffusive
    # alpha2 = 3 / (5 n) for n hops of a lattice walk: below 0.1 only after ~6 hops, i.e. 6 / p frames.
    assert li.window.start_ps > 0.7 * 6 / p * 0.1
    assert np.all(np.abs(alpha2[li.window.mask(grid)]) <= 0.1)
    assert abs(li.tracer.D_A2_per_ps - D_true) < 3 * li.tracer.D_err_A2_per_ps


def test_vibrating_crystal_is_declared_not_diffusive():
    rng = np.random.default_rng(2)
    result = _analyse(vibrating(rng, 80, 500, 0.15), 0.05, 2)
    window = result.species["Li"].window
    assert not window.diffusive
    assert "not diffusive" in window.reason
    assert window.rule["slope_tolerance"] == 0.1


def test_local_slope_of_power_laws():
    t = np.geomspace(0.01, 100, 60)
    for exponent in (0.5, 1.0, 2.0):
        np.testing.assert_allclose(local_slope(t, 3.0 * t**exponent, 2.0)[1:-1], exponent, rtol=1e-10)


def test_collective_and_charge_conductivity_of_independent_ions():
    """Uncorrelated ions: D_collective = D_tracer, charge-current sigma = Nernst-Einstein sigma (Haven ratio 1)."""
    collective_pulls, charge_pulls = [], []
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        frames, atoms = 2000, 40
        positions = gaussian_walk(rng, atoms, frames, 0.3, 0.05)
        numbers = np.where(np.arange(atoms) % 2 == 0, LI, CL)
        result = _analyse(positions, 0.05, seed, numbers=numbers, charges={"Li": 1.0, "Cl": -1.0},
                          time_blocks=16, max_lag_fraction=0.1)
        li = result.species["Li"]
        collective = li.collective
        assert collective is not None and np.isfinite(collective.D_err_A2_per_ps)
        collective_pulls.append((collective.D_A2_per_ps - 0.3) / collective.D_err_A2_per_ps)
        ne, charge = result.nernst_einstein, result.charge
        charge_pulls.append((charge.sigma_S_per_cm - ne.sigma_S_per_cm)
                            / np.hypot(charge.sigma_err_S_per_cm, ne.sigma_err_S_per_cm))
    # One collective coordinate per run: large, but honest, error bars. A standard error from 16 blocks
    # makes the pulls Student-t with 15 degrees of freedom (spread 1.07 over 60 seeds here, as expected).
    assert np.abs(collective_pulls).max() < 3.5, collective_pulls
    assert np.abs(charge_pulls).max() < 3.5, charge_pulls


def test_nernst_einstein_number():
    # 100 Li+ in 10 nm^3 with D = 1e-5 cm^2/s at 600 K, from the formula written out in SI.
    e, kB = 1.602176634e-19, 1.380649e-23
    expected = (100 / 1e-20) * e**2 * 1e-5 / (kB * 600.0)  # per cm^3 * C^2 * cm^2/s / J = S/cm
    tracer = DiffusionEstimate(D_A2_per_ps=0.1, D_err_A2_per_ps=0.01, method="given")
    sigma = nernst_einstein({"Li": tracer}, {"Li": 100}, {"Li": 1.0}, 1.0e4, 600.0)
    assert sigma.sigma_S_per_cm == pytest.approx(expected, rel=1e-12)
    assert sigma.sigma_err_S_per_cm == pytest.approx(0.1 * expected, rel=1e-12)
    halved = nernst_einstein({"Li": tracer}, {"Li": 100}, {"Li": 1.0}, 1.0e4, 600.0, haven_ratio=2.0)
    assert halved.sigma_S_per_cm == pytest.approx(expected / 2)
    assert conductivity_prefactor_S_per_cm(1.0e4, 600.0) * 100 * 1e-5 == pytest.approx(expected)
