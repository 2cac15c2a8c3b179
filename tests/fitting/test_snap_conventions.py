"""SNAP's linear system against FitSNAP's documented convention, and what the weights' scale does."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms

from simkit.datasets.frames import Frame
from simkit.datasets.spec import Weights
from simkit.fitting.linear import RidgeSolver, SvdSolver, solve_weighted
from simkit.fitting.snap_rows import assemble_system
from simkit.lammps.snap_descriptors import DescriptorRows


def _frame_and_rows(rng, n: int, config_type: str, columns: int = 5):
    atoms = Atoms("Mo" * n, positions=rng.uniform(0, 5, (n, 3)), cell=[5, 5, 5], pbc=True)
    frame = Frame(atoms, float(rng.normal(-10 * n, 1)), rng.normal(0, 1, (n, 3)), None, config_type, "synthetic")
    rows = DescriptorRows(energy=rng.normal(0, 1, columns) * n, forces=rng.normal(0, 1, (n, 3, columns)),
                          virial=rng.normal(0, 1, (6, columns)), reference_energy_eV=float(rng.normal(0, 1)),
                          reference_forces_eV_per_A=rng.normal(0, 0.1, (n, 3)), reference_virial_eV=np.zeros(6))
    return frame, rows


def test_per_atom_energy_rows_are_fitsnaps_rows():
    """FitSNAP (fitsnap3lib/calculators/lammps_snap.py, the [GROUPS] eweight/fweight of its docs): one energy row
    per configuration, the summed descriptors over N against (E - E_ref) / N, weighted by the group's eweight; 3N
    force rows against F - F_ref, weighted by its fweight. simkit's default ``energy_rows: per_atom`` is that."""
    rng = np.random.default_rng(8)
    pairs = [_frame_and_rows(rng, 3, "AIMD-NVT"), _frame_and_rows(rng, 2, "Surface")]
    weights = Weights(config_types={"AIMD-NVT": {"energy": 1500.0, "forces": 20.0},
                                    "Surface": {"energy": 100.0, "forces": 0.5}})
    system = assemble_system([f for f, _ in pairs], [r for _, r in pairs], weights)
    a, b, w = [], [], []
    for frame, rows in pairs:
        n = frame.n_atoms
        eweight, fweight, _ = weights.for_config_type(frame.config_type)
        a.append(rows.energy / n)
        b.append((frame.energy_eV - rows.reference_energy_eV) / n)
        w.append(eweight)
        for atom in range(n):
            for axis in range(3):
                a.append(rows.forces[atom, axis])
                b.append(frame.forces_eV_per_A[atom, axis] - rows.reference_forces_eV_per_A[atom, axis])
                w.append(fweight)
    assert system.matrix == pytest.approx(np.array(a), rel=1e-14)
    assert system.target == pytest.approx(np.array(b), rel=1e-14)
    assert system.weights == pytest.approx(np.array(w), rel=1e-14)


def test_a_fit_depends_only_on_the_ratios_of_the_weights():
    """Scaling every weight by c scales every column of the weighted matrix and the right-hand side by c; the
    columns are normalised before the decomposition, so SVD keeps the same values and ridge's penalty acts on the
    same matrix: the coefficients are the same. Of n weights searched, only n - 1 ratios matter."""
    rng = np.random.default_rng(9)
    matrix, target = rng.normal(0, 1, (60, 8)), rng.normal(0, 1, 60)
    weights = rng.uniform(0.1, 500, 60)
    for solver in (SvdSolver(kind="svd"), RidgeSolver(kind="ridge", alpha=1e-2)):
        base = solve_weighted(matrix, target, weights, solver).coefficients
        assert solve_weighted(matrix, target, 37.0 * weights, solver).coefficients == pytest.approx(base, rel=1e-9)
        assert not np.allclose(solve_weighted(matrix, target, weights ** 1.5, solver).coefficients, base)
