"""Teacher-vs-student structure comparison on crystals and rattled ("liquid-like") cells built here."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk

from simkit.analysis.compare import Tolerances, compare_structures, structure_summary
from simkit.analysis.frames import frames_from_atoms
from simkit.errors import InputDataError

# 512 atoms x 16 frames: enough pairs that histogram noise moves first peaks by well under 0.05 Å.
SALT_SETTINGS = dict(cutoffs_A={"Na-Cl": 3.4}, angle_cutoff_A=3.4, r_max_A=6.0, bin_width_A=0.02)
SALT_CELL = bulk("NaCl", "rocksalt", 5.64, cubic=True).repeat(4)


def _rattled(atoms, stdev_A: float, seed: int, count: int):
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(count):
        frame = atoms.copy()
        frame.positions += rng.normal(0.0, stdev_A, frame.positions.shape)
        frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def teacher():
    return structure_summary(_rattled(SALT_CELL, 0.2, seed=1, count=16), **SALT_SETTINGS)


@pytest.fixture(scope="module")
def student_frames():
    return _rattled(SALT_CELL, 0.2, seed=2, count=16)


def test_the_same_liquid_like_structure_passes_with_small_differences(teacher, student_frames, tmp_path):
    comparison = compare_structures(teacher, structure_summary(student_frames, **SALT_SETTINGS))
    assert comparison.passed, [check.name for check in comparison.failures]
    assert set(teacher.first_peaks) == {"Na-Na", "Na-Cl", "Cl-Cl", "total"}
    for check in comparison.checks:
        if check.quantity == "first_peak_position_A":
            assert abs(check.difference) < 0.03
        elif check.quantity == "first_peak_height":
            assert abs(check.relative_difference) < 0.1
        elif check.quantity == "coordination_number":
            assert abs(check.difference) < 0.05
        else:  # same cell, same atoms: identical densities
            assert check.difference == pytest.approx(0.0, abs=1e-12)
    assert comparison.g.differences["total"].max_abs_difference < 0.3
    assert comparison.angles.differences["all"].max_abs_difference < 0.003  # per degree; peaks are ~0.03

    outputs = comparison.write(tmp_path / "out", "nacl")
    assert sorted(outputs) == ["angles_csv", "angles_png", "json", "rdf_csv", "rdf_png"]
    assert all(Path(path).stat().st_size > 0 for path in outputs.values())
    saved = json.loads(outputs["json"].read_text(), parse_constant=pytest.fail)  # strict JSON: no NaN
    assert saved["passed"] and saved["labels"] == {"reference": "teacher", "candidate": "student"}
    assert saved["checks"]["first_peak_position_A"]["Na-Cl"]["tolerance"] == 0.05
    assert saved["checks"]["mass_density_g_per_cm3"]["tolerance_relative"] == 0.02
    assert saved["g_largest_difference"]["largest"].keys() == {"key", "max_abs_difference", "r_A"}
    assert "angle_deg" in saved["angle_largest_difference"]["largest"]
    with outputs["rdf_csv"].open() as handle:
        header = next(csv.reader(handle))
    assert header[:3] == ["r_A", "g_Na-Na_teacher", "g_Na-Na_student"] and "g_total_student" in header


def test_a_cell_five_percent_larger_fails_on_peak_positions_and_density(teacher, student_frames):
    expanded = []
    for frame in student_frames:
        frame = frame.copy()
        frame.set_cell(frame.cell * 1.05, scale_atoms=True)
        expanded.append(frame)
    comparison = compare_structures(teacher, structure_summary(expanded, **SALT_SETTINGS),
                                    tolerances=Tolerances())
    assert not comparison.passed
    for key, peak in teacher.first_peaks.items():
        check = comparison.check("first_peak_position_A", key)
        assert not check.passed
        assert check.difference == pytest.approx(0.05 * peak.position_A, abs=0.03)  # larger: positive
    for quantity in ("number_density_per_A3", "mass_density_g_per_cm3"):
        check = comparison.check(quantity)
        assert not check.passed
        assert check.relative_difference == pytest.approx(1.05**-3 - 1.0, rel=1e-9)  # more dilute: negative
    # Stretching a structure stretches g(r) along r without changing its heights.
    assert comparison.check("first_peak_height", "total").passed
    assert "first_peak_position_A[Na-Cl]" in comparison.to_dict()["failed"]


def test_first_peak_of_diamond_silicon_is_the_first_shell_not_the_highest():
    silicon = bulk("Si", "diamond", 5.431, cubic=True).repeat(3)
    summary = structure_summary(_rattled(silicon, 0.05, seed=3, count=1), cutoffs_A={"Si-Si": 2.9},
                                angle_cutoff_A=2.9, r_max_A=5.0, bin_width_A=0.02)
    g = summary.rdf.g[summary.total_key]
    second_shell = np.abs(summary.rdf.r_A - 3.84) < 0.1
    assert g[second_shell].max() > 0.8 * g.max()  # as high as the first: the global maximum cannot tell them apart
    assert summary.first_peaks["Si-Si"].position_A == pytest.approx(5.431 * np.sqrt(3) / 4, abs=0.02)
    assert summary.coordination == {"Si-Si": pytest.approx(4.0)}
    tetrahedral = summary.angles.angles_deg[int(np.argmax(summary.angles.distributions["Si-Si-Si"]))]
    assert tetrahedral == pytest.approx(109.5, abs=3.0)


def test_rocksalt_coordination_and_densities():
    summary = structure_summary([bulk("NaCl", "rocksalt", 5.64, cubic=True).repeat(3)], **SALT_SETTINGS)
    assert summary.coordination == {"Na-Cl": 6.0, "Cl-Na": 6.0}  # Cl around Na, Na around Cl
    assert summary.number_density_per_A3 == pytest.approx(8 / 5.64**3)
    assert summary.mass_density_g_per_cm3 == pytest.approx(2.164, abs=0.002)  # 4 NaCl (58.44 g/mol) per cell


def test_refusals_name_what_is_wrong(teacher):
    salt = bulk("NaCl", "rocksalt", 5.64, cubic=True).repeat(2)
    with pytest.raises(InputDataError, match="'Sb-Te'"):
        structure_summary([salt], cutoffs_A={"Sb-Te": 3.6}, angle_cutoff_A=3.0)
    cluster = salt.copy()
    cluster.pbc = False
    with pytest.raises(InputDataError, match="frame 1 is not periodic"):
        structure_summary([salt, cluster], **SALT_SETTINGS)
    other = structure_summary([salt], **{**SALT_SETTINGS, "bin_width_A": 0.05})
    with pytest.raises(InputDataError, match="r grids differ"):
        compare_structures(teacher, other)


def test_frames_from_atoms_round_trips_frame_to_atoms():
    salt = bulk("NaCl", "rocksalt", 5.64, cubic=True)
    salt.info.update(step=40, time_ps=0.04)
    frame = next(frames_from_atoms([salt]))
    assert (frame.step, frame.time_ps, frame.pbc) == (40, 0.04, (True, True, True))
    back = frame.to_atoms()
    np.testing.assert_allclose(back.positions, salt.positions)
    np.testing.assert_allclose(back.cell, salt.cell)
    assert list(back.numbers) == list(salt.numbers)
