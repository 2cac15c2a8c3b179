"""What a cascade campaign found: per cascade, and per PKA energy with 95 % confidence intervals, next to
the NRT and arc-dpa estimates; a CSV, a JSON summary, and figures of defects against time and energy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from simkit.radiation.tde_report import mean_and_ci95
from simkit.runtime.files import atomic_write_text

CASCADES_CSV = "cascades.csv"
CASCADE_JSON = "cascade_summary.json"
DEFECTS_TIME_PNG = "defects_vs_time.png"
DEFECTS_ENERGY_PNG = "defects_vs_energy.png"


def summarise(rows: list[dict]) -> dict:
    per_energy = {}
    for energy in sorted({r["energy_eV"] for r in rows}):
        mine = [r for r in rows if r["energy_eV"] == energy]
        surviving = [r["final"]["frenkel_pairs"] for r in mine]
        estimates = mine[0]["estimates"]
        vac_sizes = [s for r in mine for s in r["final"]["vacancy_clusters"]["sizes"]]
        int_sizes = [s for r in mine for s in r["final"]["interstitial_clusters"]["sizes"]]
        per_energy[f"{energy:g}"] = {
            "cascades": len(mine),
            "surviving_frenkel_pairs": mean_and_ci95(surviving),
            "peak_frenkel_pairs": mean_and_ci95([r["peak_frenkel_pairs"] for r in mine]),
            "peak_time_ps": mean_and_ci95([r["peak_time_ps"] for r in mine]),
            "electronic_loss_eV": mean_and_ci95([r["electronic_loss_eV"] for r in mine]),
            "estimates": estimates,
            "surviving_over_nrt": (float(np.mean(surviving)) / estimates["nrt_frenkel_pairs"]
                                   if estimates["nrt_frenkel_pairs"] > 0 else None),
            "surviving_over_arc_dpa": (float(np.mean(surviving)) / estimates["arc_dpa_frenkel_pairs"]
                                       if estimates.get("arc_dpa_frenkel_pairs") else None),
            "vacancy_cluster_sizes": _histogram(vac_sizes),
            "interstitial_cluster_sizes": _histogram(int_sizes),
            "fraction_of_interstitials_clustered": _clustered(int_sizes),
            "cloud_shape": _shape([r["final"]["shape"] for r in mine]),
        }
    return {"cascades": len(rows), "energies": per_energy}


def _shape(shapes: list[dict]) -> dict:
    """Intervals of the surviving defect cloud's semi-axes (largest first) and of the mean distances of
    vacancies and interstitials from its centre, over the cascades where each is defined."""
    found = {}
    for axis in range(3):
        values = [s["semi_axes_A"][axis] for s in shapes if s.get("semi_axes_A")]
        found[f"semi_axis_{axis + 1}_A"] = mean_and_ci95(values) if values else None
    for key in ("mean_vacancy_distance_A", "mean_interstitial_distance_A"):
        values = [s[key] for s in shapes if s.get(key) is not None]
        found[key] = mean_and_ci95(values) if values else None
    return found


def _histogram(sizes: list[int]) -> dict[str, int]:
    values, counts = np.unique(np.asarray(sizes, dtype=int), return_counts=True)
    return {str(int(v)): int(c) for v, c in zip(values, counts)}


def _clustered(sizes: list[int]) -> float | None:
    total = sum(sizes)
    return None if total == 0 else float(sum(s for s in sizes if s > 1)) / total


def write_outputs(out: Path, rows: list[dict], summary: dict) -> None:
    header = ["energy_eV", "direction", "repeat", "pka_index", "peak_frenkel_pairs", "peak_time_ps",
              "surviving_frenkel_pairs", "vacancies", "interstitials", "antisites", "largest_vacancy_cluster",
              "largest_interstitial_cluster", "electronic_loss_eV", "nrt_frenkel_pairs", "arc_dpa_frenkel_pairs",
              "time_ps", "steps", "atoms", "wall_s"]
    lines = [",".join(header)]
    for r in rows:
        final = counts = r["final"]
        lines.append(",".join(str(x) for x in [
            f"{r['energy_eV']:g}", "".join(str(v) for v in r["direction"]).replace(" ", "") if isinstance(
                r["direction"], list) else r["direction"].replace(" ", ""), r["repeat"], r["pka_index"],
            r["peak_frenkel_pairs"], f"{r['peak_time_ps']:.4f}", counts["frenkel_pairs"], counts["vacancies"],
            counts["interstitials"], counts["antisites"], final["vacancy_clusters"]["largest"],
            final["interstitial_clusters"]["largest"], f"{r['electronic_loss_eV']:.3f}",
            f"{r['estimates']['nrt_frenkel_pairs']:.3f}", f"{r['estimates'].get('arc_dpa_frenkel_pairs', float('nan')):.3f}",
            f"{r['time_ps']:.4f}", r["steps"], r["atoms"], r["wall_s"],
        ]))
    atomic_write_text(out / CASCADES_CSV, "\n".join(lines) + "\n")
    atomic_write_text(out / CASCADE_JSON, json.dumps(summary, indent=1) + "\n")
    _plot(out, rows, summary)


def _plot(out: Path, rows: list[dict], summary: dict) -> None:
    # lazy: matplotlib takes ~0.5 s to import and only the figures need it
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.8))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for r in rows:
        ax.plot(r["series"]["time_ps"], r["series"]["vacancies"], lw=1, alpha=0.8,
                label=f"{r['energy_eV']:g} eV #{r['repeat']}" if len(rows) <= 8 else None)
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("Frenkel pairs (Wigner-Seitz vacancies)")
    if len(rows) <= 8:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / DEFECTS_TIME_PNG, dpi=120)

    energies = [float(e) for e in summary["energies"]]
    data = list(summary["energies"].values())
    fig = Figure(figsize=(5.5, 3.8))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    means = [d["surviving_frenkel_pairs"]["mean"] for d in data]
    errors = [0.0 if d["surviving_frenkel_pairs"]["ci95"] is None else
              d["surviving_frenkel_pairs"]["mean"] - d["surviving_frenkel_pairs"]["ci95"][0] for d in data]
    ax.errorbar(energies, means, yerr=errors, fmt="o", capsize=3, label="MD surviving (95% CI)")
    ax.plot(energies, [d["estimates"]["nrt_frenkel_pairs"] for d in data], "s--", label="NRT")
    if all("arc_dpa_frenkel_pairs" in d["estimates"] for d in data):
        ax.plot(energies, [d["estimates"]["arc_dpa_frenkel_pairs"] for d in data], "^--", label="arc-dpa")
    ax.set_xlabel("PKA energy (eV)")
    ax.set_ylabel("Frenkel pairs")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / DEFECTS_ENERGY_PNG, dpi=120)


def table(summary: dict) -> str:
    lines = [f"{summary['cascades']} cascade(s)"]
    for energy, d in summary["energies"].items():
        fp = d["surviving_frenkel_pairs"]
        ci = f" (95% CI {fp['ci95'][0]:.1f}-{fp['ci95'][1]:.1f})" if fp["ci95"] else ""
        arc = d["estimates"].get("arc_dpa_frenkel_pairs")
        lines.append(
            f"{energy} eV: surviving Frenkel pairs {fp['mean']:.2f}{ci} over {d['cascades']}, peak "
            f"{d['peak_frenkel_pairs']['mean']:.1f}; NRT {d['estimates']['nrt_frenkel_pairs']:.2f}"
            + (f", arc-dpa {arc:.2f}" if arc is not None else "")
        )
    return "\n".join(lines)
