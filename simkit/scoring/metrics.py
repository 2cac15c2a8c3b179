"""Validation errors of a potential, overall and per config_type, and the thesis loss.

Conventions (all errors are prediction minus reference):

* energy RMSE/MAE per atom: of (E_pred - E_ref) / N over frames, meV/atom;
* force RMSE/MAE per component: over all 3N components, meV/Å; per vector:
  RMSE = sqrt(mean over atoms |dF|^2), MAE = mean over atoms |dF|, meV/Å;
* virial RMSE/MAE per atom: over the six Voigt components of (W_pred - W_ref) / N
  of frames that carry a reference virial, meV/atom;
* loss L = alpha * L_E + (1 - alpha) * L_F with
  L_E = sqrt(mean over frames ((E_pred - E_ref) / sqrt(N))^2) in meV and
  L_F = the force-vector RMSE in meV/Å (``force_loss="vector"``, the default) or
  the force-component RMSE in meV/Å (``force_loss="component"``).

With ``force_loss="component"`` L is XPOT's loss (du Toit & Deringer, J. Chem.
Phys. 159, 024803 (2023); the XPOT SNAP and ACE models compute the energy
error of a frame as (E_pred - E_ref) / N^0.5, take the RMSE over frames, and
the RMSE over the flattened 3N force components), times 1000 because simkit
works in meV where XPOT works in eV; both terms scale alike, so alpha means
the same in both. The vector RMSE is sqrt(3) times the component RMSE when
errors are isotropic, so with ``"vector"`` a given alpha puts about 1.7 times
more weight on forces than XPOT's: alpha_vector = sqrt(3) alpha_xpot / (1 -
alpha_xpot + sqrt(3) alpha_xpot) gives about the same balance (0.839 for
XPOT's 0.75).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal, Sequence

import numpy as np

MEV_PER_EV = 1000.0

# What L_F measures: the RMSE of force vectors |dF_i| or of the 3N components (XPOT's convention).
ForceLoss = Literal["vector", "component"]
FORCE_LOSSES: tuple[str, ...] = ("vector", "component")


@dataclass
class Predictions:
    """Reference and predicted labels of a set of frames (picklable arrays)."""

    sources: list[str]
    config_types: list[str]
    n_atoms: np.ndarray  # (frames,)
    energy_ref_eV: np.ndarray  # (frames,)
    energy_pred_eV: np.ndarray
    forces_ref_eV_per_A: np.ndarray  # (atoms in all frames, 3)
    forces_pred_eV_per_A: np.ndarray
    virial_ref_eV: np.ndarray  # (frames, 6), NaN where a frame has no reference virial
    virial_pred_eV: np.ndarray

    def __len__(self) -> int:
        return len(self.sources)

    @property
    def atom_frame(self) -> np.ndarray:
        """Frame index of each row of the force arrays."""
        return np.repeat(np.arange(len(self.n_atoms)), self.n_atoms.astype(int))

    def select(self, frames: np.ndarray) -> "Predictions":
        """The predictions of the frames where the boolean mask ``frames`` is True."""
        frames = np.asarray(frames, dtype=bool)
        atoms = frames[self.atom_frame]
        return Predictions(
            sources=[s for s, keep in zip(self.sources, frames) if keep],
            config_types=[c for c, keep in zip(self.config_types, frames) if keep],
            n_atoms=self.n_atoms[frames],
            energy_ref_eV=self.energy_ref_eV[frames],
            energy_pred_eV=self.energy_pred_eV[frames],
            forces_ref_eV_per_A=self.forces_ref_eV_per_A[atoms],
            forces_pred_eV_per_A=self.forces_pred_eV_per_A[atoms],
            virial_ref_eV=self.virial_ref_eV[frames],
            virial_pred_eV=self.virial_pred_eV[frames],
        )

    @classmethod
    def concatenate(cls, parts: Sequence["Predictions"]) -> "Predictions":
        return cls(
            sources=[s for p in parts for s in p.sources],
            config_types=[c for p in parts for c in p.config_types],
            n_atoms=np.concatenate([p.n_atoms for p in parts]),
            energy_ref_eV=np.concatenate([p.energy_ref_eV for p in parts]),
            energy_pred_eV=np.concatenate([p.energy_pred_eV for p in parts]),
            forces_ref_eV_per_A=np.concatenate([p.forces_ref_eV_per_A for p in parts]),
            forces_pred_eV_per_A=np.concatenate([p.forces_pred_eV_per_A for p in parts]),
            virial_ref_eV=np.concatenate([p.virial_ref_eV for p in parts]),
            virial_pred_eV=np.concatenate([p.virial_pred_eV for p in parts]),
        )


@dataclass
class Metrics:
    """Errors of one set of frames (units in the names)."""

    n_frames: int
    n_atoms: int
    energy_rmse_meV_per_atom: float
    energy_mae_meV_per_atom: float
    force_component_rmse_meV_per_A: float
    force_component_mae_meV_per_A: float
    force_vector_rmse_meV_per_A: float
    force_vector_mae_meV_per_A: float
    virial_rmse_meV_per_atom: float | None  # None: no frame has a reference virial
    virial_mae_meV_per_atom: float | None
    loss_energy_meV: float  # L_E
    loss_forces_meV_per_A: float  # L_F
    loss: float  # alpha * L_E + (1 - alpha) * L_F
    alpha: float
    force_loss: str = "vector"  # what L_F is: the force-vector or the force-component RMSE

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Scores:
    """Metrics of all frames and of each config_type."""

    overall: Metrics
    config_types: dict[str, Metrics] = field(default_factory=dict)

    @property
    def loss(self) -> float:
        return self.overall.loss

    def to_dict(self) -> dict:
        return {"overall": self.overall.to_dict(), "config_types": {k: v.to_dict() for k, v in self.config_types.items()}}


def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(values)))) if values.size else float("nan")


def _mean_abs(values: np.ndarray) -> float:
    return float(np.mean(np.abs(values))) if values.size else float("nan")


def compute_metrics(predictions: Predictions, alpha: float = 0.5, force_loss: ForceLoss = "vector") -> Metrics:
    """Every error measure of ``predictions`` (see the module docstring)."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    if force_loss not in FORCE_LOSSES:
        raise ValueError(f"force_loss must be one of {FORCE_LOSSES}, got {force_loss!r}")
    n = predictions.n_atoms.astype(float)
    energy_error = predictions.energy_pred_eV - predictions.energy_ref_eV
    force_error = predictions.forces_pred_eV_per_A - predictions.forces_ref_eV_per_A
    force_norms = np.linalg.norm(force_error, axis=1)
    has_virial = np.all(np.isfinite(predictions.virial_ref_eV), axis=1)
    virial_error = (predictions.virial_pred_eV - predictions.virial_ref_eV)[has_virial] / n[has_virial, None]
    loss_energy = MEV_PER_EV * _rms(energy_error / np.sqrt(n))
    force_vector_rmse = MEV_PER_EV * _rms(force_norms)
    force_component_rmse = MEV_PER_EV * _rms(force_error)
    loss_forces = force_vector_rmse if force_loss == "vector" else force_component_rmse
    return Metrics(
        n_frames=len(predictions),
        n_atoms=int(n.sum()),
        energy_rmse_meV_per_atom=MEV_PER_EV * _rms(energy_error / n),
        energy_mae_meV_per_atom=MEV_PER_EV * _mean_abs(energy_error / n),
        force_component_rmse_meV_per_A=force_component_rmse,
        force_component_mae_meV_per_A=MEV_PER_EV * _mean_abs(force_error),
        force_vector_rmse_meV_per_A=force_vector_rmse,
        force_vector_mae_meV_per_A=MEV_PER_EV * _mean_abs(force_norms),
        virial_rmse_meV_per_atom=MEV_PER_EV * _rms(virial_error) if has_virial.any() else None,
        virial_mae_meV_per_atom=MEV_PER_EV * _mean_abs(virial_error) if has_virial.any() else None,
        loss_energy_meV=loss_energy,
        loss_forces_meV_per_A=loss_forces,
        loss=alpha * loss_energy + (1.0 - alpha) * loss_forces,
        alpha=alpha,
        force_loss=force_loss,
    )


def score(predictions: Predictions, alpha: float = 0.5, force_loss: ForceLoss = "vector") -> Scores:
    """Metrics overall and per config_type (types in order of first appearance)."""
    types = np.array(predictions.config_types, dtype=object)
    per_type = {
        name: compute_metrics(predictions.select(types == name), alpha, force_loss)
        for name in dict.fromkeys(predictions.config_types)
    }
    return Scores(compute_metrics(predictions, alpha, force_loss), per_type)
