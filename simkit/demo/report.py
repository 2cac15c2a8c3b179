"""The demo's report: ``report/report.md`` with its figures beside it, all from the steps' outputs.

Every number in the report is read from files the steps wrote (the
optimisers' ``candidates.csv`` and ``best/provenance.json``, the cycle's
``run_summary.json`` and ``thermo.csv``, the analyses' CSVs); the figures are
copied next to the Markdown so the folder can be moved or attached as it is.
Rewritten on every run (it takes a second).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simkit.analysis.output import new_figure, save_figure

_STATUS_COLOURS = {"ok": "tab:green", "infeasible": "tab:orange", "pruned": "tab:gray", "failed": "tab:red"}


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _survival_figure(tables: dict[str, pd.DataFrame], path: Path) -> Path:
    """Survival fraction of every candidate that reached the screen, by family, coloured by status."""
    figure = new_figure(6.4, 3.2 + 0.4 * len(tables))
    axis = figure.add_subplot()
    offset = 0
    ticks, labels = [], []
    for family, table in tables.items():
        screened = table[np.isfinite(table["survival_fraction"])]
        x = offset + np.arange(len(screened))
        colours = [_STATUS_COLOURS.get(s, "black") for s in screened["status"]]
        axis.bar(x, screened["survival_fraction"], color=colours, edgecolor=["black" if b else "none"
                                                                              for b in screened["best"]])
        ticks += list(x)
        labels += [f"{family}{i}" for i in screened["id"]]
        offset += len(screened) + 1
    from matplotlib.patches import Patch

    handles = [Patch(color=colour, label=status) for status, colour in _STATUS_COLOURS.items()]
    axis.set_xticks(ticks, labels, rotation=90, fontsize="x-small")
    axis.set_ylim(0, 1.05)
    axis.set_ylabel("survival fraction")
    axis.set_title("high-temperature MD survival per candidate (best outlined)")
    axis.legend(handles=handles, fontsize="small", loc="lower right")
    return save_figure(figure, path)


def _best_rows(tables: dict[str, pd.DataFrame]) -> list[str]:
    lines = ["| model | candidates (ok / infeasible / pruned / failed) | best id | objective | loss | E RMSE (meV/atom) "
             "| F RMSE (meV/Å) | speed (atom-steps/s/core) | survival |",
             "|---|---|---|---|---|---|---|---|---|"]
    for family, table in tables.items():
        counts = table["status"].value_counts()
        count_text = " / ".join(str(int(counts.get(s, 0))) for s in ("ok", "infeasible", "pruned", "failed"))
        best = table[table["best"]]
        if best.empty:
            lines.append(f"| {family.upper()} | {count_text} | none feasible | - | - | - | - | - | - |")
            continue
        row = best.iloc[0]
        lines.append(
            f"| {family.upper()} | {count_text} | {int(row['id'])} | {_fmt(row['objective'])} | {_fmt(row['loss'])} "
            f"| {_fmt(row['energy_rmse_meV_per_atom'])} | {_fmt(row['force_component_rmse_meV_per_A'])} "
            f"| {_fmt(row['speed_atom_steps_per_s_per_core'])} | {_fmt(row['survival_fraction'])} |")
    return lines


def _cycle_lines(cycle_dir: Path, analysis_dir: Path) -> list[str]:
    summary = json.loads((cycle_dir / "run_summary.json").read_text())
    results = summary.get("results", {})
    lines = [f"{results.get('natoms', '?')} atoms, {results.get('frozen_atoms', '?')} of them frozen; "
             f"wall time {_fmt(summary.get('wall_time_s'), 4)} s on {summary.get('mpi', {}).get('ranks', '?')} rank(s).", "",
             "| stage | from (ps) | to (ps) | delivered heat (eV) | requested (eV) |", "|---|---|---|---|---|"]
    for segment in results.get("segments", []):
        h = segment.get("heat", {})
        lines.append(f"| {segment['label']} | {_fmt(segment['begin_time_ps'], 4)} | {_fmt(segment['end_time_ps'], 4)} "
                     f"| {_fmt(h.get('delivered_eV'))} | {_fmt(h.get('requested_eV'))} |")
    crystal = analysis_dir / "crystallinity" / "crystallinity.csv"
    if crystal.is_file():
        table = pd.read_csv(crystal)
        low = table.loc[table["crystalline_fraction"].idxmin()]
        lines += ["", f"Crystalline fraction (post-processed from the trajectory): {table['crystalline_fraction'].iloc[0]:.2f} "
                      f"at the start, lowest {low['crystalline_fraction']:.2f} at {low['time_ps']:.1f} ps, "
                      f"{table['crystalline_fraction'].iloc[-1]:.2f} at the end ({len(table)} frames)."]
    return lines


def _cycle_choice(plan) -> str:
    family = plan.cycle_family()
    if plan.config.cycle_model != "best" or len(plan.families) == 1:
        return f"{family.upper()} (named in the config)."
    if family == plan.ranked_families()[0]:
        return f"{family.upper()}, the lower objective of the two."
    failed = [r for r in plan.rejected_cycles().values() if r["family"] != family]
    reason = f": {failed[-1]['error']}" if failed else ""
    return f"{family.upper()}, because the cycle failed with the other family's best{reason}."


def write_report(plan, history: list[dict[str, Any]], total_s: float) -> Path:
    """Write ``report/report.md`` and its figures; returns the Markdown file's path."""
    from simkit.demo.analyse import RDF_FIGURE
    from simkit.demo.runner import FOLDERS, REPORT_DIR

    out = plan.out
    folder = out / REPORT_DIR
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    figures: list[tuple[str, str]] = []

    def figure(source: Path, name: str, caption: str) -> None:
        if source.is_file():
            shutil.copy2(source, folder / name)
            figures.append((name, caption))

    tables = {}
    for family in plan.families:
        run = out / FOLDERS[family]
        tables[family] = pd.read_csv(run / "candidates.csv")
        figure(run / "convergence.png", f"{family}_convergence.png", f"{family.upper()}: optimisation progress")
        figure(run / "pareto.png", f"{family}_pareto.png", f"{family.upper()}: Pareto front (loss, cost, 1 - survival)")
        figure(run / "best" / "parity.png", f"{family}_parity.png", f"{family.upper()}: best candidate, validation parity")
    survival = _survival_figure(tables, folder / "survival.png")
    figures.append((survival.name, "survival of every screened candidate"))
    cycle = out / FOLDERS["cycle"]
    analysis = out / FOLDERS["analysis"]
    figure(cycle / "summary.png", "cycle.png", "device cycle: energy, temperatures, crystalline fraction (on the fly)")
    figure(analysis / "crystallinity" / "crystallinity.png", "crystallinity.png",
           "crystalline fraction per frame and per slab along z (post-processed)")
    figure(analysis / RDF_FIGURE, "rdf.png", "radial distribution function by cycle stage")

    lines = ["# simkit demo report", "",
             f"Config: `{plan.source}`; output folder: `{out}`; wall time of this invocation: {total_s:.0f} s.", "",
             "## Steps", "", "| step | what | outcome | wall when it ran (s) | folder |", "|---|---|---|---|---|"]
    lines += [f"| {h['step']} | {h['title']} | {h['outcome']} | {h['wall_s']:.0f} | `{h['folder']}` |" for h in history]
    lines += ["", "## Best candidates", "",
              "Loss, speed and survival as measured by the optimiser (same objective for both families: "
              "lower is better); the cycle runs the best " + _cycle_choice(plan), ""]
    lines += _best_rows(tables)
    lines += ["", "## Device cycle", ""] + _cycle_lines(cycle, analysis)
    lines += ["", "## Figures", ""]
    for name, caption in figures:
        lines += [f"### {caption}", "", f"![{caption}]({name})", ""]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
