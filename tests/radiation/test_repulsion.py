"""Close-approach repulsion: ZBL against LAMMPS, dimer scans, and the check on real and broken potentials."""

from __future__ import annotations

import re

import numpy as np
import pytest

from simkit.errors import ConfigError, InputDataError
from simkit.lammps.potentials import EamPotential, LammpsPairPotential, OverlayPotential, SnapPotential, ZblPotential
from simkit.radiation.repulsion import (
    CoreProblem,
    check_repulsive_core,
    dimer_scan,
    zbl_distance_at_energy_A,
    zbl_energy_eV,
)
from simkit.units import COULOMB_EV_A


@pytest.fixture(scope="module")
def fe_mm(lammps_potentials):
    return EamPotential(lammps_potentials / "Fe_mm.eam.fs", style="eam/fs")


@pytest.fixture(scope="module")
def w_zhou(lammps_potentials):
    return EamPotential(lammps_potentials / "W_zhou.eam.alloy", style="eam/alloy")


def test_coulomb_constant_is_lammps_metal_qqr2e():
    assert COULOMB_EV_A == pytest.approx(14.399645, abs=1e-6)


def test_zbl_limits_hand_values():
    # Far inside the screening length phi -> sum of c_i = 1: the bare Coulomb energy.
    r = 1e-6
    assert zbl_energy_eV(26, 26, r) == pytest.approx(COULOMB_EV_A * 26 * 26 / r, rel=1e-4)
    # One hand-evaluated point: W-W at 1 Å (a_U = 0.4685 / (2 * 74^0.23)).
    a = 0.46850 / (2 * 74**0.23)
    x = 1.0 / a
    phi = 0.18175 * np.exp(-3.1998 * x) + 0.50986 * np.exp(-0.94229 * x) + 0.28022 * np.exp(-0.4029 * x) \
        + 0.02817 * np.exp(-0.20162 * x)
    assert zbl_energy_eV(74, 74, 1.0) == pytest.approx(COULOMB_EV_A * 74 * 74 * phi, rel=1e-12)
    assert zbl_energy_eV(74, 74, zbl_distance_at_energy_A(74, 74, 1000.0)) == pytest.approx(1000.0, rel=1e-9)


@pytest.mark.parametrize("pair", [("Fe", "Fe", 26, 26), ("W", "W", 74, 74), ("Fe", "W", 26, 74)])
def test_zbl_matches_lammps_pair_zbl(pair):
    # Inner cutoff beyond every test distance: no switching, only LAMMPS's constant shift (cancelled here).
    # LAMMPS rounds e^2/(4 pi eps0) to 14.399645 eV*Å; ours is 14.39964548 (CODATA 2018): 3e-8 apart.
    a, b, z1, z2 = pair
    distances = np.array([0.1, 0.25, 0.5, 0.8, 1.2, 1.7, 2.5, 3.5])
    lammps = dimer_scan(ZblPotential(6.0, 7.0), a, b, distances)
    ours = zbl_energy_eV(z1, z2, distances)
    assert lammps - lammps[-1] == pytest.approx(ours - ours[-1], rel=1e-7, abs=1e-9)


def test_dimer_scan_is_the_pair_function(tmp_path):
    # Morse E = D (exp(-2 a (r - r0)) - 2 exp(-a (r - r0))), unshifted: zero only beyond its cutoff.
    morse = LammpsPairPotential("morse 6.0", ["* * 0.5 1.5 2.3"], elements=None, cutoff_A=6.0)
    r = np.array([0.5, 1.0, 2.3, 3.0, 5.5])
    expected = 0.5 * (np.exp(-3.0 * (r - 2.3)) - 2 * np.exp(-1.5 * (r - 2.3)))
    assert dimer_scan(morse, "Ar", "Ar", r) == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_dimer_scan_cancels_eam_embedding(fe_mm):
    # Beyond the cutoff the two atoms no longer interact: the dimer energy is zero, not 2 F(0).
    assert dimer_scan(fe_mm, "Fe", "Fe", [5.4, 6.0]) == pytest.approx([0.0, 0.0], abs=1e-12)


def test_fe_mm_is_fine_to_1_keV_and_has_a_tabulated_wall_beyond(fe_mm):
    low = check_repulsive_core(fe_mm, "Fe", 1000.0)
    assert low.ok, low.reason
    assert low.closest_distance_A == pytest.approx(zbl_distance_at_energy_A(26, 26, 1000.0), abs=0.02)
    assert low.min_distance_A == pytest.approx(2.19, abs=0.02)
    assert dict(low.zbl_ratios)[1.0] == pytest.approx(0.9, abs=0.05)
    # Below 0.5 Å its r*phi table is 1e12 eV*Å: a hard wall, not physics.
    high = check_repulsive_core(fe_mm, "Fe", 10_000.0)
    assert not high.ok and high.problem is CoreProblem.HARD_WALL, high.reason


def test_w_zhou_is_too_soft_for_10_keV_without_zbl(w_zhou):
    low = check_repulsive_core(w_zhou, "W", 1000.0)
    assert low.ok, low.reason
    assert low.closest_distance_A < 0.7 * zbl_distance_at_energy_A(74, 74, 1000.0)  # much softer than ZBL
    high = check_repulsive_core(w_zhou, "W", 10_000.0)
    assert not high.ok and high.problem is CoreProblem.TOO_SOFT, high.reason
    assert high.closest_distance_A is None


def test_zbl_overlay_makes_w_zhou_fit_for_cascades(w_zhou):
    overlaid = OverlayPotential([w_zhou, ZblPotential(1.0, 2.0)])
    check = check_repulsive_core(overlaid, "W", 10_000.0)
    assert check.ok, check.reason
    assert all(0.8 < ratio < 1.5 for _, ratio in check.zbl_ratios)


def test_snap_without_zbl_turns_over(lammps_potentials):
    snap = SnapPotential(lammps_potentials / "W_2940_2017_2.snapcoeff", lammps_potentials / "W_2940_2017_2.snapparam")
    check = check_repulsive_core(snap, "W", 100.0)
    assert not check.ok and check.problem is CoreProblem.TURNS_OVER, check.reason
    assert check.closest_distance_A is None
    assert check.min_energy_eV < -50  # attractive all the way in


def _write_hump_table(path, height_eV):
    # A 2-A well and a Gaussian hump of height_eV at 1.2 A that falls to nothing at short range.
    r = np.linspace(0.05, 5.0, 2000)
    energy = height_eV * np.exp(-(((r - 1.2) / 0.3) ** 2)) - 3.0 * np.exp(-(((r - 2.3) / 0.4) ** 2))
    force = -np.gradient(energy, r)
    lines = ["# hump", "", "HUMP", f"N {len(r)} R {r[0]} {r[-1]}", ""]
    lines += [f"{i + 1} {x:.10f} {e:.10e} {f:.10e}" for i, (x, e, f) in enumerate(zip(r, energy, force))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_turn_over_beyond_the_pka_energy_is_judged_only_when_reachable(tmp_path):
    table = _write_hump_table(tmp_path / "hump.table", 200.0)
    hump = LammpsPairPotential("table linear 2000", [f"* * {table} HUMP"], elements=None, cutoff_A=5.0)
    reached = check_repulsive_core(hump, "Fe", 100.0)
    assert reached.ok, reached.reason
    assert reached.closest_distance_A > 1.2
    passed = check_repulsive_core(hump, "Fe", 1000.0)
    assert passed.problem is CoreProblem.TURNS_OVER, passed.reason
    turn = float(re.search(r"turns over at ([0-9.]+)", passed.reason).group(1))
    assert turn == pytest.approx(1.2, abs=0.02)


def test_bad_arguments_are_config_errors(w_zhou):
    with pytest.raises(ConfigError, match="Xx"):
        check_repulsive_core(w_zhou, "Xx", 100.0)
    with pytest.raises(ConfigError, match="pka_energy_eV"):
        check_repulsive_core(w_zhou, "W", 0.0)
    with pytest.raises(ValueError, match="cutoff"):
        dimer_scan(w_zhou, "W", "W", [20.0])
    with pytest.raises(InputDataError, match="element.*Fe"):
        dimer_scan(w_zhou, "W", "Fe", [1.0])
