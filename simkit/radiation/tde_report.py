"""What a threshold study found: per-direction thresholds, their solid-angle-weighted average per
equilibration, and the distribution of those averages; a CSV, a JSON summary and two figures.

The average over directions weights each direction by the solid angle its
spherical Voronoi cell covers (with cubic symmetry: the cells of all its
images). A direction with no defect up to ``scan.max_eV`` is censored: the
average then counts it at ``max_eV`` and is marked a lower bound.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from scipy import stats

from simkit.radiation import directions as D
from simkit.runtime.files import atomic_write_text

TDE_CSV = "tde.csv"
TDE_JSON = "tde_summary.json"
TDE_SPHERE_PNG = "tde_directions.png"
TDE_HISTOGRAM_PNG = "tde_histogram.png"


def mean_and_ci95(values: list[float]) -> dict:
    """Mean, sample std and a two-sided 95 % Student-t confidence interval of the mean."""
    array = np.asarray(values, dtype=float)
    n = len(array)
    mean = float(array.mean())
    if n < 2:
        return {"n": n, "mean": mean, "std": None, "ci95": None}
    std = float(array.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n))
    return {"n": n, "mean": mean, "std": std, "ci95": [mean - half, mean + half]}


def summarise(rows: list[dict], meta: dict, max_eV: float) -> dict:
    weights = np.asarray(meta["weights"])
    labels = meta["labels"]
    temperatures = sorted({r["temperature_K"] for r in rows})
    per_temperature = {}
    for temperature in temperatures:
        mine = [r for r in rows if r["temperature_K"] == temperature]
        averages = []
        censored_runs = 0
        for e in sorted({r["equilibration"] for r in mine}):
            scan = sorted((r for r in mine if r["equilibration"] == e), key=lambda r: r["direction_index"])
            values = np.array([max_eV if r["tde_eV"] is None else r["tde_eV"] for r in scan])
            censored = any(r["tde_eV"] is None for r in scan)
            censored_runs += censored
            chosen = weights[[r["direction_index"] for r in scan]]
            averages.append(float(np.sum(values * chosen) / np.sum(chosen)))
        directions = {}
        for d_index, label in enumerate(labels):
            found = [r["tde_eV"] for r in mine if r["direction_index"] == d_index]
            values = [v for v in found if v is not None]
            directions[label] = {"tde_eV": mean_and_ci95(values) if values else None,
                                 "censored": len(found) - len(values), "weight": float(weights[d_index])}
        per_temperature[f"{temperature:g}"] = {
            "average_eV": mean_and_ci95(averages), "averages_eV": averages,
            "averages_are_lower_bounds": censored_runs, "directions": directions,
            "minimum_eV": min((r["tde_eV"] for r in mine if r["tde_eV"] is not None), default=None),
        }
    return {"pka": {"index": meta["pka_index"], "species": meta["pka_species"]}, "atoms": meta["atoms"],
            "censored_at_eV": max_eV, "temperatures": per_temperature}


def write_outputs(out: Path, rows: list[dict], meta: dict, summary: dict) -> None:
    lines = [["temperature_K", "equilibration", "direction", "dx", "dy", "dz", "weight", "tde_eV", "tries"]]
    for r in rows:
        d = r["direction"]
        lines.append([f"{r['temperature_K']:g}", r["equilibration"], meta["labels"][r["direction_index"]],
                      *(f"{x:.6f}" for x in d), f"{meta['weights'][r['direction_index']]:.6f}",
                      "" if r["tde_eV"] is None else f"{r['tde_eV']:g}", len(r["trials"])])
    text = "\n".join(",".join(str(x) for x in line) for line in lines) + "\n"
    atomic_write_text(out / TDE_CSV, text)
    atomic_write_text(out / TDE_JSON, json.dumps(summary, indent=1) + "\n")
    _plot(out, rows, meta, summary)


def _plot(out: Path, rows: list[dict], meta: dict, summary: dict) -> None:
    # lazy: matplotlib takes ~0.5 s to import and only the figures need it
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    temperatures = list(summary["temperatures"])
    fig = Figure(figsize=(4.5 * len(temperatures), 4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(temperatures), squeeze=False)
    for ax, key in zip(axes[0], temperatures):
        mine = [r for r in rows if f"{r['temperature_K']:g}" == key and r["tde_eV"] is not None]
        if mine:
            xy = D.stereographic(np.array([r["direction"] for r in mine]))
            points = ax.scatter(xy[:, 0], xy[:, 1], c=[r["tde_eV"] for r in mine], cmap="viridis", s=40)
            fig.colorbar(points, ax=ax, label="threshold (eV)")
        ax.set_aspect("equal")
        ax.set_title(f"{key} K: stereographic projection on (001)")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    fig.tight_layout()
    fig.savefig(out / TDE_SPHERE_PNG, dpi=120)

    fig = Figure(figsize=(9, 3.6))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    for key in temperatures:
        found = [r["tde_eV"] for r in rows if f"{r['temperature_K']:g}" == key and r["tde_eV"] is not None]
        if found:
            left.hist(found, bins=min(30, max(5, len(found) // 2)), alpha=0.6, label=f"{key} K")
        right.hist(summary["temperatures"][key]["averages_eV"], bins=10, alpha=0.6, label=f"{key} K")
    left.set_xlabel("threshold per direction (eV)")
    right.set_xlabel("direction-averaged threshold per equilibration (eV)")
    for ax in (left, right):
        ax.set_ylabel("count")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / TDE_HISTOGRAM_PNG, dpi=120)


def table(summary: dict) -> str:
    lines = []
    for key, data in summary["temperatures"].items():
        average = data["average_eV"]
        ci = average["ci95"]
        spread = f" (95% CI {ci[0]:.1f}-{ci[1]:.1f}, n={average['n']})" if ci else f" (n={average['n']})"
        bound = " lower bound" if data["averages_are_lower_bounds"] else ""
        lines.append(f"{key} K: average threshold {average['mean']:.1f} eV{spread}{bound}")
        for label, d in data["directions"].items():
            value = d["tde_eV"]
            text = "none found" if value is None else f"{value['mean']:.1f} eV"
            if d["censored"]:
                text += f" ({d['censored']} above {summary['censored_at_eV']:g} eV)"
            lines.append(f"  {label:>10s}: {text}")
    return "\n".join(lines)
