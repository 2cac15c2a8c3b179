"""Write a scaling scan: CSV table, machine description, plots, and a terminal table."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from simkit.bench.scaling import STRONG, WEAK, ScalingResult

SCALING_CSV = "scaling.csv"
MACHINE_JSON = "machine.json"
SCALING_PNG = "scaling.png"
RELATIVE_PNG = "relative_speed.png"

# LAMMPS timing sections as CSV columns (seconds per timed run, average over ranks).
SECTIONS = ("Pair", "Neigh", "Comm", "Output", "Modify", "Other")
COLUMNS = (
    "potential", "mode", "ranks", "target_atoms", "natoms", "atoms_per_rank", "status",
    "atom_steps_per_s", "atom_steps_per_s_min", "atom_steps_per_s_max", "atom_steps_per_s_per_rank",
    "lammps_atom_steps_per_s", "speedup", "parallel_efficiency", "relative_speed", "loop_time_s",
    *(f"{name.lower()}_s" for name in SECTIONS), "job_wall_s", "reason",
)


def write_csv(result: ScalingResult, path: Path) -> Path:
    with Path(path).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in result.rows():
            sections = row.pop("sections_s") or {}
            row.update({f"{name.lower()}_s": sections.get(name) for name in SECTIONS})
            writer.writerow({key: ("" if row.get(key) is None else row[key]) for key in COLUMNS})
    return Path(path)


def read_csv(path: Path) -> list[dict]:
    with Path(path).open() as handle:
        return list(csv.DictReader(handle))


def write_machine(result: ScalingResult, launcher: list[str], path: Path) -> Path:
    data = {"machine": result.machine, "lammps_version": result.lammps_version, "launcher": launcher}
    Path(path).write_text(json.dumps(data, indent=2) + "\n")
    return Path(path)


def table(result: ScalingResult) -> str:
    lines = [f"{'potential':<14} {'mode':<6} {'ranks':>5} {'atoms':>7} {'atom-steps/s':>13} {'per rank':>10} "
             f"{'speed-up':>8} {'eff.':>6} {'rel.':>6}  pair/neigh/comm %"]

    def fmt(value, spec):
        return "-" if value is None else format(value, spec)

    for p in result.points:
        if not p.ok:
            lines.append(f"{p.potential:<14} {p.mode:<6} {p.ranks:>5} {p.target_atoms:>7}  FAILED: {p.reason}")
            continue
        loop = p.loop_time_s or 0.0
        shares = "/".join(f"{100 * p.sections_s.get(n, 0.0) / loop:.0f}" for n in ("Pair", "Neigh", "Comm")) if loop else "-"
        lines.append(
            f"{p.potential:<14} {p.mode:<6} {p.ranks:>5} {p.natoms:>7} {p.atom_steps_per_s:>13.5g} "
            f"{p.atom_steps_per_s_per_rank:>10.5g} {fmt(p.speedup, '>8.3f')} {fmt(p.parallel_efficiency, '>6.3f')} "
            f"{fmt(p.relative_speed, '>6.3f')}  {shares}"
        )
    lines.append(f"relative speeds against {result.reference}")
    return "\n".join(lines)


def plot_scaling(result: ScalingResult, path: Path) -> Path:
    """Speed-up (strong) and parallel efficiency (strong, weak) against ranks, one line per potential."""
    # lazy: matplotlib takes ~0.5 s to import and only the figures need it (`simkit bench` prints a table too)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    modes = [m for m in (STRONG, WEAK) if any(p.mode == m for p in result.points)]
    figure = Figure(figsize=(9.0, 3.4 * len(modes)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(modes), 2, squeeze=False)
    names = list(dict.fromkeys(p.potential for p in result.points))
    for row, mode in zip(axes, modes):
        speed_ax, eff_ax = row
        all_ranks = sorted({p.ranks for p in result.points if p.mode == mode})
        for index, name in enumerate(names):
            done = sorted((p for p in result.points if p.mode == mode and p.potential == name and p.ok),
                          key=lambda p: p.ranks)
            failed = [p for p in result.points if p.mode == mode and p.potential == name and not p.ok]
            colour = f"C{index}"
            if done:
                ranks = [p.ranks for p in done]
                speed_ax.plot(ranks, [p.speedup for p in done], "o-", color=colour, label=name)
                eff_ax.plot(ranks, [p.parallel_efficiency for p in done], "o-", color=colour, label=name)
            for p in failed:
                eff_ax.plot([p.ranks], [0.0], "x", color=colour, markersize=9)
        if all_ranks:
            base = min(all_ranks)
            speed_ax.plot(all_ranks, [n / base for n in all_ranks], "--", color="grey", label="ideal")
            eff_ax.axhline(1.0, linestyle="--", color="grey")
        label = "fixed cell" if mode == STRONG else "fixed atoms per rank"
        speed_ax.set_title(f"{mode} scaling ({label}): speed-up")
        eff_ax.set_title(f"{mode} scaling: parallel efficiency (x = failed)")
        for ax in row:
            ax.set_xlabel("MPI ranks")
            ax.set_xticks(all_ranks)
        speed_ax.set_ylabel("speed-up")
        eff_ax.set_ylabel("efficiency")
        eff_ax.set_ylim(0, 1.15)
        if speed_ax.get_legend_handles_labels()[0]:  # every point failed: nothing to label
            speed_ax.legend(fontsize="small")
    figure.savefig(path, dpi=120)
    return Path(path)


def plot_relative(result: ScalingResult, path: Path) -> Path | None:
    """Relative speeds against the reference, grouped by scan and rank count (None with one potential)."""
    names = list(dict.fromkeys(p.potential for p in result.points))
    if len(names) < 2:
        return None
    # lazy: matplotlib takes ~0.5 s to import and only the figures need it
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = sorted({(p.mode, p.ranks) for p in result.points})
    figure = Figure(figsize=(max(5.0, 1.2 * len(groups) * len(names) / 2 + 2), 3.4), layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    width = 0.8 / len(names)
    for index, name in enumerate(names):
        bars = []
        for group, (mode, ranks) in enumerate(groups):
            match = [p for p in result.points if (p.potential, p.mode, p.ranks) == (name, mode, ranks)]
            if match and match[0].relative_speed is not None:  # failed points get no bar
                bars.append((group + index * width, match[0].relative_speed))
        if bars:
            ax.bar(*zip(*bars), width, label=name, color=f"C{index}")
    ax.set_xticks([g + 0.4 - width / 2 for g in range(len(groups))], [f"{m}\n{n} ranks" for m, n in groups])
    ax.axhline(1.0, linestyle="--", color="grey")
    ax.set_ylabel(f"MD speed relative to {result.reference}")
    ax.set_yscale("log")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    figure.savefig(path, dpi=120)
    return Path(path)
