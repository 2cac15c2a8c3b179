"""The least-squares rows of a SNAP fit: every frame's energy, force and virial rows, weighted.

Kept apart from :mod:`simkit.fitting.snap` so that the fit and the weight search
(:mod:`simkit.fitting.snap_weights`) build their rows in one way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simkit.datasets.frames import Frame
from simkit.datasets.reader import voigt_from_tensor
from simkit.datasets.spec import Weights
from simkit.lammps.snap_descriptors import DescriptorRows


@dataclass
class LinearSystem:
    matrix: np.ndarray  # (rows, columns)
    target: np.ndarray
    weights: np.ndarray
    kind: np.ndarray  # 0 energy, 1 force, 2 virial (per row)


def assemble_system(
    frames: list[Frame], rows: list[DescriptorRows], weights: Weights, energy_rows: str = "per_atom"
) -> LinearSystem:
    """Stack every frame's weighted rows; rows with weight 0 are left out."""
    blocks, targets, row_weights, kinds = [], [], [], []
    for frame, r in zip(frames, rows):
        n = frame.n_atoms
        w_energy, w_forces, w_virial = weights.for_config_type(frame.config_type)
        scale = float(n) if energy_rows == "per_atom" else float(np.sqrt(n))
        if w_energy > 0:
            blocks.append(r.energy[None, :] / scale)
            targets.append([(frame.energy_eV - r.reference_energy_eV) / scale])
            row_weights.append([w_energy])
            kinds.append([0])
        if w_forces > 0:
            blocks.append(r.forces.reshape(3 * n, -1))
            targets.append((frame.forces_eV_per_A - r.reference_forces_eV_per_A).ravel())
            row_weights.append(np.full(3 * n, w_forces))
            kinds.append(np.ones(3 * n, dtype=int))
        if w_virial > 0 and frame.virial_eV is not None:
            blocks.append(r.virial / n)
            targets.append((voigt_from_tensor(frame.virial_eV) - r.reference_virial_eV) / n)
            row_weights.append(np.full(6, w_virial))
            kinds.append(np.full(6, 2))
    if not blocks:
        raise ValueError("no rows with non-zero weight")
    return LinearSystem(
        matrix=np.vstack(blocks),
        target=np.concatenate([np.asarray(t, dtype=float) for t in targets]),
        weights=np.concatenate([np.asarray(w, dtype=float) for w in row_weights]),
        kind=np.concatenate([np.asarray(k, dtype=int) for k in kinds]),
    )


def linear_predictions(rows: DescriptorRows, coefficients: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(energy eV, forces eV/Å (N, 3), virial eV (6,)) of the linear model plus the reference."""
    return (
        float(rows.energy @ coefficients + rows.reference_energy_eV),
        rows.forces @ coefficients + rows.reference_forces_eV_per_A,
        rows.virial @ coefficients + rows.reference_virial_eV,
    )
