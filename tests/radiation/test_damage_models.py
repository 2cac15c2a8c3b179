"""Damage energy (NRT/Lindhard), NRT and arc-dpa displacement counts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simkit.errors import ConfigError
from simkit.radiation.damage_models import (
    ARC_DPA_PARAMETERS,
    arc_dpa_displacements,
    arc_dpa_efficiency,
    arc_dpa_for,
    lindhard_damage_energy,
    nrt_displacements,
)


def test_damage_energy_in_a_second_spelling():
    # eps = 11.5 E[keV] / Z^(7/3) and k = 0.133 Z^(2/3) / sqrt(A), the common self-ion shorthand of NRT's
    # E_L = 30.724 Z1 Z2 sqrt(Z1^(2/3) + Z2^(2/3)) (A1 + A2) / A2 and k = 0.1337 Z1^(1/6) sqrt(Z1 / A1).
    for z, mass in [(26, 55.845), (74, 183.84)]:
        for energy in [100.0, 1e4, 1e6]:
            eps = 11.5 * energy / 1000 / z ** (7 / 3)
            k = 0.1337 * z ** (2 / 3) / math.sqrt(mass)
            g = 3.4008 * eps ** (1 / 6) + 0.40244 * eps**0.75 + eps
            assert lindhard_damage_energy(energy, z, mass) == pytest.approx(energy / (1 + k * g), rel=1e-3)


def test_damage_energy_limits():
    energies = np.array([0.0, 1.0, 1e2, 1e4, 1e6, 1e9])
    damage = lindhard_damage_energy(energies, 26, 55.845)
    assert damage[0] == 0.0
    assert np.all(damage[1:] < energies[1:])
    assert np.all(np.diff(damage / np.maximum(energies, 1))[1:] < 0)  # the electronic share grows with energy
    # Heavier atoms lose less to electrons at the same energy (10 keV: Fe 0.74, W 0.80 of E).
    assert lindhard_damage_energy(1e4, 26, 55.845) < lindhard_damage_energy(1e4, 74, 183.84)


def test_nrt_branches():
    ed = 40.0
    assert nrt_displacements(39.9, ed) == 0.0
    assert nrt_displacements(40.0, ed) == 1.0
    assert nrt_displacements(99.9, ed) == 1.0
    assert nrt_displacements(100.0, ed) == pytest.approx(1.0)
    assert nrt_displacements(1e4, ed) == pytest.approx(0.8 * 1e4 / 80.0)
    values = nrt_displacements(np.array([10.0, 50.0, 1e3]), ed)
    assert values.tolist() == pytest.approx([0.0, 1.0, 10.0])


def test_arc_dpa_joins_nrt_and_tends_to_c():
    ed, b, c = ARC_DPA_PARAMETERS["Fe"]
    onset = 2 * ed / 0.8
    for damage in [10.0, ed, 0.9 * onset, onset]:
        assert arc_dpa_displacements(damage, ed, b, c) == pytest.approx(nrt_displacements(damage, ed))
    assert arc_dpa_efficiency(1e12, ed, b, c) == pytest.approx(c, abs=1e-3)
    # Brief's formula written out: xi = (1 - c) / (2 Ed / 0.8)^b * T^b + c.
    damage = 2e4
    xi = (1 - c) / onset**b * damage**b + c
    assert arc_dpa_displacements(damage, ed, b, c) == pytest.approx(0.8 * damage / (2 * ed) * xi)
    # A 20 keV Fe cascade: arc-dpa gives about a third of NRT.
    assert arc_dpa_displacements(damage, ed, b, c) / nrt_displacements(damage, ed) == pytest.approx(0.34, abs=0.03)


def test_arc_dpa_table_and_its_refusals():
    assert arc_dpa_for("Fe") == (40.0, -0.568, 0.286)
    assert arc_dpa_for("W") == (70.0, -0.56, 0.12)
    with pytest.raises(ConfigError, match="'Cu'"):
        arc_dpa_for("Cu")
    with pytest.raises(ConfigError, match="b must be negative"):
        arc_dpa_displacements(1e3, 40.0, 0.5, 0.3)
    with pytest.raises(ConfigError, match="threshold_eV"):
        nrt_displacements(1e3, 0.0)
    with pytest.raises(ConfigError, match="pka_energy_eV"):
        lindhard_damage_energy(-1.0, 26, 55.845)
