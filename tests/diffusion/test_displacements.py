"""The streamed displacement pass agrees with brute-force definitions, from arrays and from H5MD files."""

from __future__ import annotations

import numpy as np
import pytest

from simkit.analysis.msd import msd_direct
from simkit.diffusion.displacements import ArrayTrajectory, displacement_pass, lag_grid, van_hove
from simkit.errors import InputDataError
from simkit.io import H5mdWriter, open_trajectory
from tests.diffusion.synthetic import gaussian_walk

LI, TE = 3, 52


def _mixed(rng, frames=120, atoms=30):
    """Li (fast) and Te (slow) interleaved, plus O atoms that no group selects."""
    numbers = np.array([(LI, TE, 8)[i % 3] for i in range(atoms)])
    D = np.where(numbers == LI, 0.8, 0.1)
    positions = gaussian_walk(rng, atoms, frames, 1.0, 0.05) * np.sqrt(D)[None, :, None]
    return ArrayTrajectory(positions, numbers, np.arange(frames) * 0.05, cell_A=np.diag([9.0, 10.0, 11.0]))


def _pass(source, memory_MiB=64.0, charges=None):
    frames = len(source.times_ps)
    groups = {"Li": source.numbers == LI, "Te": source.numbers == TE}
    grid = lag_grid(frames, 0.5, 10, 20, extra=(3, 40))
    return displacement_pass(source, np.arange(frames), groups, grid=grid, van_hove_lags=np.array([3, 40]),
                             van_hove_bin_width_A=0.1, charges_e=charges, memory_MiB=memory_MiB, progress=False)


def test_moments_match_their_definitions(rng):
    source = _mixed(rng)
    charges = np.where(source.numbers == LI, 1.0, np.where(source.numbers == TE, -2.0, 0.0))
    result = _pass(source, charges=charges)
    r = source.positions_A
    for name, z in (("Li", LI), ("Te", TE)):
        group = result.groups[name]
        mine = r[:, source.numbers == z]
        assert group.atoms == mine.shape[1]
        np.testing.assert_allclose(group.msd_A2, msd_direct(mine), rtol=1e-10, atol=1e-12)
        for j, lag in enumerate(result.grid):
            d2 = np.sum((mine[lag:] - mine[:-lag]) ** 2, axis=2)
            np.testing.assert_allclose(group.particle_msd_A2[:, j], d2.mean(axis=0), rtol=1e-9)
            assert group.grid_quartic_A4[j] == pytest.approx(np.mean(d2**2), rel=1e-10)
        for k, lag in enumerate(result.van_hove_lags):
            distances = np.sqrt(np.sum((mine[lag:] - mine[:-lag]) ** 2, axis=2)).ravel()
            expected = np.bincount((distances / 0.1).astype(int))
            np.testing.assert_array_equal(group.van_hove_counts[k][:len(expected)], expected)
            assert group.van_hove_counts[k].sum() == mine.shape[1] * (len(r) - lag)
        np.testing.assert_allclose(group.position_sum_A, mine.sum(axis=1))
        a2 = 3 * group.grid_quartic_A4 / (5 * group.grid_msd_A2**2) - 1
        np.testing.assert_allclose(group.alpha2, a2)
    np.testing.assert_allclose(result.charge_sum_eA, np.einsum("tnk,n->tk", r, charges))
    assert result.volume_A3 == pytest.approx(990.0)
    assert result.frame_interval_ps == pytest.approx(0.05)


def test_small_memory_budget_gives_the_same_numbers(rng):
    source = _mixed(rng, frames=150, atoms=45)
    roomy = _pass(source)
    tight = _pass(source, memory_MiB=0.2)  # a few atoms per block and per transform
    for name in roomy.groups:
        np.testing.assert_allclose(tight.groups[name].msd_A2, roomy.groups[name].msd_A2, rtol=1e-12)
        np.testing.assert_allclose(tight.groups[name].particle_msd_A2, roomy.groups[name].particle_msd_A2)
        np.testing.assert_allclose(tight.groups[name].grid_quartic_A4, roomy.groups[name].grid_quartic_A4)
        np.testing.assert_array_equal(tight.groups[name].van_hove_counts, roomy.groups[name].van_hove_counts)


def test_h5md_file_unwraps_across_the_boundaries(rng):
    source = _mixed(rng, frames=80, atoms=24)
    cell = np.diag([9.0, 10.0, 11.0])
    with H5mdWriter("walk.h5md") as writer:  # wraps into the cell and stores image flags
        for k in range(80):
            writer.append_frame(step=10 * k, time_ps=0.05 * k, positions_A=source.positions_A[k], cell_A=cell,
                                numbers=source.numbers)
    with open_trajectory("walk.h5md") as trajectory:
        assert np.abs(trajectory.frame(79).images).max() > 0  # atoms did cross the cell
        from_file = _pass(trajectory, memory_MiB=0.2)
    expected = _pass(source)
    for name in expected.groups:
        np.testing.assert_allclose(from_file.groups[name].msd_A2, expected.groups[name].msd_A2, atol=1e-9)


def test_van_hove_is_normalised_and_gaussian_for_brownian_motion(rng):
    frames, atoms = 300, 200
    source = ArrayTrajectory(gaussian_walk(rng, atoms, frames, 0.5, 0.1), np.full(atoms, LI), np.arange(frames) * 0.1)
    grid = lag_grid(frames, 0.5, 10, 10, extra=(20,))
    result = displacement_pass(source, np.arange(frames), {"Li": np.ones(atoms, bool)}, grid=grid,
                               van_hove_lags=np.array([20]), van_hove_bin_width_A=0.05, progress=False)
    (curve,) = van_hove(result, "Li")
    assert curve.lag_ps == pytest.approx(2.0)
    assert np.sum(curve.radial_per_A) * 0.05 == pytest.approx(1.0)
    assert np.sum(4 * np.pi * curve.r_A**2 * curve.g_s_per_A3) * 0.05 == pytest.approx(1.0)
    # Brownian displacements are Gaussian: the histogram follows the Gaussian of the same MSD.
    assert np.abs(curve.radial_per_A - curve.gaussian_per_A).max() < 0.05 * curve.gaussian_per_A.max()
    assert abs(result.groups["Li"].alpha2[np.searchsorted(grid, 20)]) < 0.05


def test_unequal_frame_spacing_is_refused(rng):
    source = _mixed(rng, frames=20)
    source.steps = np.r_[np.arange(10), np.arange(11, 21)]
    with pytest.raises(InputDataError, match="equally spaced"):
        _pass(source)


def test_lag_grid_is_log_plus_linear_and_bounded():
    grid = lag_grid(10001, 0.5, 10, 50, extra=(7,))
    assert grid[0] == 1 and grid[-1] == 5000
    assert np.all(np.diff(grid) > 0) and 7 in grid
    assert {100, 1000}.issubset(set(grid.tolist())) and {4900, 4800}.issubset(set(grid.tolist()))
    assert len(grid) < 100
