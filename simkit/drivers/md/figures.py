"""The summary figure of a protocol run: energy, temperatures and crystalline fraction vs time, stages marked.

Drawn from the run's ``thermo.csv`` and the segment records of its summary,
with matplotlib's object API (no pyplot global state). Heat pulses and heat
sinks are shaded; every other stage boundary is a dotted line labelled with
the stage name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd

_FLUX_STAGES = {"heat_pulse": "tab:red", "remove_heat": "tab:blue"}
_NARROW_FRACTION = 0.08  # of the whole run


def plot_protocol(thermo_csv: Path, segments: Sequence[dict], path: Path, title: str | None = None) -> Path:
    """Write the summary figure of a run to ``path`` (PNG or anything matplotlib writes); returns it."""
    # lazy: matplotlib takes ~0.5 s to import and only this figure needs it
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table = pd.read_csv(thermo_csv)
    crystalline = [c for c in table.columns if c.endswith("crystalline_fraction")]
    temperatures = [c for c in table.columns if c.endswith("_temperature_K")]
    panels = 2 + bool(crystalline)
    figure = Figure(figsize=(8.0, 2.4 * panels + 0.6), constrained_layout=True)
    FigureCanvasAgg(figure)
    axes = figure.subplots(panels, 1, sharex=True)
    time = table["time_ps"].to_numpy()

    energy = axes[0]
    energy.plot(time, table["total_energy_eV"], label="total", color="black")
    energy.plot(time, table["potential_energy_eV"], label="potential", color="tab:purple")
    energy.set_ylabel("energy (eV)")
    energy.legend(loc="best", fontsize="small")

    heat = axes[1]
    heat.plot(time, table["temperature_K"], label="dynamic atoms", color="black")
    for column in temperatures:
        heat.plot(time, table[column], label=column.removesuffix("_temperature_K"), linewidth=1.0)
    heat.set_ylabel("temperature (K)")
    heat.legend(loc="best", fontsize="small")

    if crystalline:
        order = axes[2]
        for column in crystalline:
            label = "all atoms" if column == "crystalline_fraction" else column.removesuffix("_crystalline_fraction")
            order.plot(time, table[column], label=label, linewidth=1.2 if label == "all atoms" else 1.0)
        order.set_ylabel("crystalline fraction")
        order.set_ylim(-0.02, 1.02)
        order.legend(loc="best", fontsize="small")

    _mark_stages(axes, segments)
    axes[-1].set_xlabel("time (ps)")
    if title:
        figure.suptitle(title)
    figure.savefig(path, dpi=120)
    return Path(path)


def _mark_stages(axes, segments: Sequence[dict]) -> None:
    timed = [s for s in segments if s.get("end_time_ps", 0) > s.get("begin_time_ps", 0)]
    if not timed:
        return
    span = max(s["end_time_ps"] for s in timed) - min(s["begin_time_ps"] for s in timed)
    top = axes[0]
    for segment in timed:
        start, stop = segment["begin_time_ps"], segment["end_time_ps"]
        colour = _FLUX_STAGES.get(segment["stage"])
        for ax in axes:
            if colour:
                ax.axvspan(start, stop, color=colour, alpha=0.12, linewidth=0)
            ax.axvline(start, color="grey", linestyle=":", linewidth=0.8)
        # Labels of stages narrower than their text stand upright so they do not overlap.
        narrow = (stop - start) < _NARROW_FRACTION * span
        top.annotate(
            segment["label"], xy=(0.5 * (start + stop), 1.0), xycoords=("data", "axes fraction"),
            xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize="x-small",
            rotation=90 if narrow else 0,
        )
    for ax in axes:
        ax.set_xlim(min(s["begin_time_ps"] for s in timed), max(s["end_time_ps"] for s in timed))
