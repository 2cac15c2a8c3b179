"""The validation loss against the conventions it claims: XPOT's loss with ``force_loss="component"``."""

from __future__ import annotations

import numpy as np
import pytest

from simkit.scoring.metrics import Predictions, compute_metrics, score


def _predictions(rng: np.random.Generator, atoms=(2, 6, 54, 31)) -> Predictions:
    n = np.array(atoms)
    total = int(n.sum())
    energy_ref = rng.normal(-10.0, 1.0, len(n)) * n
    forces_ref = rng.normal(0.0, 1.0, (total, 3))
    return Predictions(
        sources=[f"frame {i}" for i in range(len(n))], config_types=["a", "b", "a", "c"][: len(n)], n_atoms=n,
        energy_ref_eV=energy_ref, energy_pred_eV=energy_ref + rng.normal(0.0, 0.02, len(n)) * np.sqrt(n),
        forces_ref_eV_per_A=forces_ref, forces_pred_eV_per_A=forces_ref + rng.normal(0.0, 0.15, (total, 3)),
        virial_ref_eV=np.full((len(n), 6), np.nan), virial_pred_eV=np.zeros((len(n), 6)),
    )


def _xpot_loss_eV(p: Predictions, alpha: float) -> float:
    """XPOT's loss as its SNAP model computes it: per-frame energy error over N**0.5, RMSE over frames; RMSE over
    the flattened force components; alpha * energy + (1 - alpha) * forces, in eV and eV/Å."""
    energy = [(pred - ref) / count**0.5 for pred, ref, count in zip(p.energy_pred_eV, p.energy_ref_eV, p.n_atoms)]
    forces = list((p.forces_pred_eV_per_A - p.forces_ref_eV_per_A).ravel())
    rmse = lambda values: float(np.sqrt(np.mean(np.square(values))))  # noqa: E731 - a formula, read as one
    return alpha * rmse(energy) + (1 - alpha) * rmse(forces)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 0.75, 1.0])
def test_component_force_loss_is_xpots_loss_in_meV(alpha):
    p = _predictions(np.random.default_rng(4))
    metrics = compute_metrics(p, alpha, "component")
    assert metrics.loss == pytest.approx(1000.0 * _xpot_loss_eV(p, alpha), rel=1e-12)
    assert metrics.loss_forces_meV_per_A == pytest.approx(metrics.force_component_rmse_meV_per_A, rel=1e-12)
    assert metrics.force_loss == "component"


def test_vector_force_loss_is_the_default_and_about_sqrt3_times_the_component_one():
    p = _predictions(np.random.default_rng(5), atoms=(54,) * 4)
    default, vector = compute_metrics(p, 0.75), compute_metrics(p, 0.75, "vector")
    component = compute_metrics(p, 0.75, "component")
    assert default.loss == vector.loss and default.force_loss == "vector"
    assert vector.loss_forces_meV_per_A == vector.force_vector_rmse_meV_per_A
    # Every error measure but the loss is the same whatever the convention.
    assert vector.force_component_rmse_meV_per_A == component.force_component_rmse_meV_per_A
    assert vector.loss_energy_meV == component.loss_energy_meV
    # Isotropic errors: |dF| RMSE = r x component RMSE with r ~ sqrt(3), so the vector loss with
    # alpha' = r a / (1 - a + r a) is the component loss with alpha = a, times r / (1 - a + r a).
    r = vector.loss_forces_meV_per_A / component.loss_forces_meV_per_A
    assert r == pytest.approx(np.sqrt(3.0), rel=0.05)
    a = 0.75
    matched = compute_metrics(p, r * a / (1 - a + r * a), "vector")
    assert matched.loss * (1 - a + r * a) / r == pytest.approx(component.loss, rel=1e-12)


def test_score_passes_the_convention_to_every_config_type_and_refuses_unknown_ones():
    p = _predictions(np.random.default_rng(6))
    scores = score(p, 0.75, "component")
    assert {m.force_loss for m in scores.config_types.values()} == {"component"}
    assert scores.config_types["a"].loss == pytest.approx(1000.0 * _xpot_loss_eV(p.select(np.array(
        [t == "a" for t in p.config_types])), 0.75))
    with pytest.raises(ValueError, match="force_loss must be one of"):
        compute_metrics(p, 0.5, "per_atom")
