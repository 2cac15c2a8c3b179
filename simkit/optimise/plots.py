"""Figures of a run: convergence of the objective, the Pareto front over loss, cost and survival, and the
energy/force trade-off."""

from __future__ import annotations

import math
from pathlib import Path

from simkit.optimise.objective import CandidateStatus

_STYLE = {
    CandidateStatus.OK: dict(marker="o", color="tab:blue", label="ok"),
    CandidateStatus.PRUNED: dict(marker="v", color="tab:grey", label="pruned (told its lower bound)"),
    CandidateStatus.INFEASIBLE: dict(marker="x", color="tab:orange", label="infeasible (penalised)"),
    CandidateStatus.FAILED: dict(marker="x", color="tab:red", label="failed (penalised)"),
}


def _figure(size):
    # lazy: matplotlib takes ~0.5 s to import and only the run's final figures need it
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _finished_in_order(rows: list[dict]) -> list[dict]:
    done = [r for r in rows if r["status"] in _STYLE]
    return sorted(done, key=lambda r: (r["finished_at"] or "", r["id"]))


def plot_convergence(rows: list[dict], path: Path, *, initial_points: int, objective_label: str) -> Path:
    """Value told for each candidate in the order they finished, and the best objective so far."""
    figure = _figure((7.5, 4.2))
    axes = figure.subplots()
    done = _finished_in_order(rows)
    for status, style in _STYLE.items():
        points = [(n + 1, r["told_value"]) for n, r in enumerate(done) if r["status"] == status
                  and r["told_value"] is not None]
        if points:
            axes.scatter(*zip(*points), **style, zorder=3)
    best, steps = math.inf, []
    for n, row in enumerate(done):
        if row["status"] == CandidateStatus.OK and row["objective"] is not None:
            best = min(best, row["objective"])
        steps.append((n + 1, best if math.isfinite(best) else math.nan))
    if steps:
        axes.step(*zip(*steps), where="post", color="black", linewidth=1.2, label="best so far", zorder=2)
    initial = [(n + 1, r["told_value"]) for n, r in enumerate(done) if r["source"] == "initial"
               and r["told_value"] is not None]
    if initial:
        axes.scatter(*zip(*initial), s=130, facecolors="none", edgecolors="tab:green", linewidths=1.2, zorder=4,
                     label=f"initial design ({initial_points} points)")
    axes.set_xlabel("candidates finished")
    axes.set_ylabel(objective_label)
    axes.set_title(f"convergence: {sum(r['status'] == CandidateStatus.OK for r in done)} ok of {len(done)} finished")
    if done:
        axes.legend(fontsize="small")
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path


def plot_pareto(rows: list[dict], path: Path, *, front: set[int], best_id: int | None, axes_names: list[str],
                cost_label: str) -> Path:
    """Loss against cost (or 1 - survival), survival as colour; the front and the chosen best marked."""
    figure = _figure((7.5, 5.0))
    axes = figure.subplots()
    measured = [r for r in rows if r["loss"] is not None and math.isfinite(r["loss"])]
    if "cost" in axes_names:
        y_key, y_label = "cost", cost_label
    elif "instability" in axes_names:
        y_key, y_label = "instability", "1 - survival fraction"
    elif "property_misfit" in axes_names:
        y_key, y_label = "property_misfit", "property misfit (sum of weight x (error / tolerance)^2)"
    else:
        y_key, y_label = "id", "candidate"

    def y_of(row):
        if y_key == "instability":
            return None if row["survival"] is None else 1.0 - row["survival"]
        if y_key == "property_misfit":
            return (row.get("outcome") or {}).get("property_term")
        return row[y_key]

    shown = [r for r in measured if y_of(r) is not None]
    colour_by_survival = "instability" in axes_names and y_key != "instability"
    x = [r["loss"] for r in shown]
    y = [y_of(r) for r in shown]
    if colour_by_survival:
        screened = [r for r in shown if r["survival"] is not None]
        unscreened = [r for r in shown if r["survival"] is None]
        scatter = axes.scatter([r["loss"] for r in screened], [y_of(r) for r in screened],
                               c=[r["survival"] for r in screened], cmap="viridis", vmin=0, vmax=1, s=36, zorder=3,
                               label="candidates (colour: survival)")
        figure.colorbar(scatter, ax=axes, label="survival fraction")
        if unscreened:
            axes.scatter([r["loss"] for r in unscreened], [y_of(r) for r in unscreened], marker="v", s=36,
                         color="tab:grey", zorder=3, label="stopped before the survival screen")
    else:
        axes.scatter(x, y, color="tab:blue", s=36, zorder=3, label="candidates")
    on_front = sorted((r for r in shown if r["id"] in front), key=lambda r: (r["loss"], y_of(r)))
    if on_front:
        axes.scatter([r["loss"] for r in on_front], [y_of(r) for r in on_front], facecolors="none",
                     edgecolors="black", s=110, linewidths=1.2, zorder=4, label="Pareto front")
        if len(axes_names) == 2:
            axes.step([r["loss"] for r in on_front], [y_of(r) for r in on_front], where="post", color="black",
                      linewidth=0.8, zorder=2)
    chosen = [r for r in shown if r["id"] == best_id]
    if chosen:
        row = chosen[0]
        axes.scatter([row["loss"]], [y_of(row)], marker="*", s=320, color="tab:red", edgecolors="black",
                     zorder=5, label=f"best: candidate {row['id']}")
    for row in shown:
        axes.annotate(str(row["id"]), (row["loss"], y_of(row)), textcoords="offset points", xytext=(4, 4),
                      fontsize="x-small", color="dimgrey")
    if x and min(x) > 0 and max(x) / min(x) > 20:
        axes.set_xscale("log")
    if y_key == "cost" and y and min(y) > 0 and max(y) / min(y) > 20:
        axes.set_yscale("log")
    axes.set_xlabel("validation loss L (meV)")
    axes.set_ylabel(y_label)
    axes.set_title("Pareto front over (" + ", ".join(
        {"loss": "loss", "cost": "cost", "instability": "1 - survival", "property_misfit": "property misfit"}[a]
        for a in axes_names) + ")")
    if shown:
        axes.legend(fontsize="small")
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path


def plot_energy_forces(rows: list[dict], path: Path, *, front: list[dict], best_id: int | None,
                       errors_of) -> Path:
    """Validation energy RMSE against force-component RMSE of every scored candidate; the E/F front marked.

    ``errors_of(row)`` gives a candidate's (energy, force) errors or None; ``front`` is
    :func:`simkit.optimise.results.energy_force_front`.
    """
    figure = _figure((7.5, 5.0))
    axes = figure.subplots()
    shown = [(row, errors_of(row)) for row in rows if row["status"] in _STYLE]
    shown = [(row, errors) for row, errors in shown if errors is not None]
    for status, style in _STYLE.items():
        points = [errors for row, errors in shown if row["status"] == status]
        if points:
            axes.scatter(*zip(*points), s=36, zorder=3, **{**style, "label": status.value})
    if front:
        x = [entry["energy_rmse_meV_per_atom"] for entry in front]
        y = [entry["force_component_rmse_meV_per_A"] for entry in front]
        axes.scatter(x, y, facecolors="none", edgecolors="black", s=110, linewidths=1.2, zorder=4,
                     label=f"energy/force front ({len(front)})")
        axes.step(x, y, where="post", color="black", linewidth=0.8, zorder=2)
    for row, errors in shown:
        if row["id"] == best_id:
            axes.scatter([errors[0]], [errors[1]], marker="*", s=320, color="tab:red", edgecolors="black",
                         zorder=5, label=f"best by objective: candidate {row['id']}")
        axes.annotate(str(row["id"]), errors, textcoords="offset points", xytext=(4, 4), fontsize="x-small",
                      color="dimgrey")
    values = [errors for _, errors in shown]
    for index, set_scale in ((0, axes.set_xscale), (1, axes.set_yscale)):
        axis_values = [v[index] for v in values]
        if axis_values and min(axis_values) > 0 and max(axis_values) / min(axis_values) > 20:
            set_scale("log")
    axes.set_xlabel("validation energy RMSE (meV/atom)")
    axes.set_ylabel("validation force-component RMSE (meV/Å)")
    axes.set_title("energy/force trade-off (Pareto front over the two errors)")
    if shown:
        axes.legend(fontsize="small")
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path
