"""Parity plots (predicted against reference) of energies, forces and virials, as PNG.

Uses matplotlib's object API with the Agg canvas (no pyplot state, no display).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simkit.scoring.metrics import Predictions, compute_metrics


def _panel(axes, reference, predicted, groups, label, unit, rmse) -> None:
    for name in dict.fromkeys(groups):
        mask = groups == name
        axes.scatter(reference[mask], predicted[mask], s=6, alpha=0.6, label=str(name), linewidths=0)
    if reference.size:
        low = float(min(reference.min(), predicted.min()))
        high = float(max(reference.max(), predicted.max()))
        pad = 0.05 * (high - low or 1.0)
        axes.plot([low - pad, high + pad], [low - pad, high + pad], color="black", linewidth=0.8)
    axes.set_xlabel(f"reference {label} ({unit})")
    axes.set_ylabel(f"predicted {label} ({unit})")
    axes.set_title(f"{label}: RMSE {rmse:.3g} {'meV/atom' if 'atom' in unit else 'meV/Å'}")
    axes.set_aspect("equal", adjustable="datalim")


def plot_parity(predictions: Predictions, path: Path, title: str = "") -> Path:
    """Write a PNG with energy-per-atom, force-component and (if any) virial-per-atom parity panels."""
    # lazy: matplotlib takes ~0.5 s to import and only the figure needs it (scoring runs without plots too)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    metrics = compute_metrics(predictions)
    n = predictions.n_atoms.astype(float)
    types = np.array(predictions.config_types, dtype=object)
    has_virial = np.all(np.isfinite(predictions.virial_ref_eV), axis=1)
    panels = 3 if has_virial.any() else 2
    figure = Figure(figsize=(4.2 * panels, 4.4), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, panels, squeeze=False)[0]
    _panel(axes[0], predictions.energy_ref_eV / n, predictions.energy_pred_eV / n, types,
           "energy", "eV/atom", metrics.energy_rmse_meV_per_atom)
    atom_types = types[predictions.atom_frame]
    _panel(axes[1], predictions.forces_ref_eV_per_A.ravel(), predictions.forces_pred_eV_per_A.ravel(),
           np.repeat(atom_types, 3), "force component", "eV/Å", metrics.force_component_rmse_meV_per_A)
    if panels == 3:
        scale = n[has_virial, None]
        _panel(axes[2], (predictions.virial_ref_eV[has_virial] / scale).ravel(),
               (predictions.virial_pred_eV[has_virial] / scale).ravel(), np.repeat(types[has_virial], 6),
               "virial", "eV/atom", metrics.virial_rmse_meV_per_atom)
    if len(dict.fromkeys(predictions.config_types)) > 1:
        axes[0].legend(fontsize="small", markerscale=2)
    if title:
        figure.suptitle(title)
    figure.savefig(Path(path), dpi=120)
    return Path(path)

