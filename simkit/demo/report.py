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
from matplotlib.patches import Patch

from simkit.analysis.output import new_figure, save_figure
from simkit.demo.analyse import RDF_FIGURE
from simkit.demo.audit import AUDIT_FOLDER, AUDIT_JSON
from simkit.demo.refine import SUMMARY as REFINE_SUMMARY
from simkit.demo.steps import FOLDERS, REPORT_DIR

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


def _validation_lines(folder: Path) -> list[str]:
    """Per student: errors per phase on the benchmark set, speed, and the structure checks against the teacher."""
    path = folder / "validation.json"
    if not path.is_file():
        return []
    lines = ["", "## Students against the teacher", "",
             "Errors on the held-out benchmark set (one melt-quench trajectory from the crystal, never trained "
             "on), per phase:", "",
             "| model | phase | E RMSE (meV/atom) | F RMSE (meV/Å) |", "|---|---|---|---|"]
    students = json.loads(path.read_text())["students"]
    for student in students:
        errors = student["errors"]
        for phase, values in {**errors["per_phase"], "all": errors["overall"]}.items():
            lines.append(f"| {student['family'].upper()} | {phase} | {_fmt(values.get('energy_rmse_meV_per_atom'))} "
                         f"| {_fmt(values.get('force_component_rmse_meV_per_A'))} |")
    lines += ["", "Structure from the same MD protocols (same cells, seeds and temperatures; fixed density), "
                  "teacher vs student:", "",
              "| model | run | frames | first peak g(r) (Å) | height | CN Sb-Te | largest g(r) difference | verdict |",
              "|---|---|---|---|---|---|---|---|"]
    for student in students:
        for name, result in student["structure"].items():
            if result.get("status") == "unstable":
                lines.append(f"| {student['family'].upper()} | {name} | - | - | - | - | - | "
                             f"UNSTABLE: {' '.join(result['error'].split())[:160]} |")
                continue
            checks = result["checks"]
            peak = _pair_check(checks.get("first_peak_position_A", {}), "total")
            height = _pair_check(checks.get("first_peak_height", {}), "total")
            cn = _pair_check(checks.get("coordination_number", {}), "Te-Sb")
            g = result["g_largest_difference"]["largest"]
            verdict = "pass" if result["passed"] else "FAIL: " + ", ".join(result["failed"])
            lines.append(f"| {student['family'].upper()} | {name} | {result['frames']['reference']} / "
                         f"{result['frames']['candidate']} | {peak} | {height} | {cn} | "
                         f"{_fmt(g.get('max_abs_difference'))} ({g.get('key')}, {_fmt(g.get('r_A'))} Å) | {verdict} |")
    lines += ["", "Speed (atom-steps/s per core on the speed cell) and cost relative to the teacher:", ""]
    for student in students:
        speed = student.get("speed", {})
        lines.append(f"- {student['family'].upper()}: " + ", ".join(f"{k} = {_fmt(v)}" for k, v in speed.items()))
    return lines


def _pair_check(checks: dict, key: str) -> str:
    check = checks.get(key)
    return f"{_fmt(check['reference'])} / {_fmt(check['candidate'])}" if check else "-"


def _reading_lines(folder: Path) -> list[str]:
    """The cycle read as a phase-change study: amorphisation, regrowth, fronts, criteria agreement."""
    path = folder / "cycle" / "cycle_reading.json"
    if not path.is_file():
        return []
    r = json.loads(path.read_text())
    slabs = r["amorphised_slabs"]
    stats = r["amorphised_region_fraction"]
    cooling = next((v for k, v in stats.items() if k.startswith("during_") and k != f"during_{r['growth']['stage']}"), {})
    growing = stats.get(f"during_{r['growth']['stage']}", {})
    lines = ["", "### Amorphisation and regrowth", "",
             f"Amorphised region: {len(slabs['slabs'])} of {slabs['of']} slabs along z (crystalline fraction below "
             f"{r['level']} after {slabs['read_after']}; slab centres {slabs['z_centres_A']} Å)."]
    if cooling.get("frames"):
        lines.append(f"- During {slabs['read_after']}: its crystalline fraction stays between {cooling['min']:.3f} "
                     f"and {cooling['max']:.3f} ({cooling['frames']} frames), {cooling['last']:.3f} at the end.")
    if growing.get("frames"):
        lines.append(f"- During {r['growth']['stage']} ({r['growth'].get('duration_ps', float('nan')):.0f} ps): "
                     f"from {growing['first']:.3f} to {growing['last']:.3f} (rise "
                     f"{r['growth'].get('amorphised_region_rise', float('nan')):+.3f}; max {growing['max']:.3f}).")
    for front in r["growth"]["fronts"]:
        v = front.get("velocity")
        if v:
            lines.append(f"- {front['name']} crystal/amorphous front: growth velocity {v['velocity_m_per_s']:.2f} "
                         f"± {v['velocity_stderr_m_per_s']:.2f} m/s (fit), ± {_fmt(v['velocity_block_stderr_m_per_s'])} "
                         f"m/s (blocks); {v['points']} frames, displacement {v['displacement_A']:.1f} Å.")
        else:
            lines.append(f"- {front['name']} front: no velocity ({front.get('note') or 'no front found'}).")
    agreement = r.get("agreement")
    if agreement:
        lines.append(f"- On-the-fly criterion (LAMMPS, bond order) vs post-processed ({agreement['criteria'][1]}), "
                     f"{agreement['frames']} frames: {100 * agreement['mean_same_class']:.1f} % of atoms classified "
                     f"alike on average (lowest {100 * agreement['min_same_class']:.1f} %); crystalline fractions "
                     f"differ by {agreement['mean_abs_fraction_difference']:.3f} on average, at most "
                     f"{agreement['max_abs_fraction_difference']:.3f} (at {agreement['max_difference_at_ps']:.1f} ps).")
    return lines


def _audit_lines(folder: Path) -> list[str]:
    """The teacher's verdict on the cycle's frames; a failed audit says plainly that the numbers above are void."""
    path = folder / AUDIT_FOLDER / AUDIT_JSON
    if not path.is_file():
        return []
    a = json.loads(path.read_text())
    lines = ["", "### The cycle against the teacher", "",
             f"The teacher re-evaluated {a['frames']} frames of the cycle (student minus teacher energy per atom; "
             f"tolerance {_fmt(a['tolerance_meV_per_atom'])} meV/atom): largest |difference| "
             f"{a['max_abs_difference_meV_per_atom']:.1f} meV/atom, {a['first_difference_meV_per_atom']:+.1f} on the "
             f"first frame, {a['last_difference_meV_per_atom']:+.1f} on the last; force RMSE up to "
             f"{a['max_force_rmse_meV_per_A']:.0f} meV/Å."]
    first = a.get("first_outside")
    if a["passed"]:
        lines.append("- **Audit passed**: every checked frame is within the tolerance.")
    else:
        lines.append(f"- **AUDIT FAILED** at {first['time_ps']:.1f} ps (stage {first['stage']}, "
                     f"{first['difference_meV_per_atom']:+.0f} meV/atom; drift over the cycle "
                     f"{a['drift_meV_per_atom']:+.0f} meV/atom): the student's energies leave the teacher's there, "
                     "so the amorphisation and regrowth read below are the student's, not the teacher's material's. "
                     "A large drift is a structure the teacher does not have; a steady offset is a student too "
                     "inaccurate for the phase balance. Refine the student (demo section 'refine') before using "
                     "this cycle.")
    lines += ["", "| time (ps) | stage | E student - E teacher (meV/atom) | force RMSE (meV/Å) |", "|---|---|---|---|"]
    lines += [f"| {row['time_ps']:.1f} | {row['stage']} | {row['difference_meV_per_atom']:+.1f} "
              f"| {row['force_rmse_meV_per_A']:.0f} |" for row in a["rows"]]
    return lines


def _refine_lines(folder: Path) -> list[str]:
    """Per refined family and round: how far the student was from the teacher on its own frames, what was added."""
    lines = []
    for path in sorted(folder.glob(f"*/{REFINE_SUMMARY}")):
        record = json.loads(path.read_text())
        lines += ["", f"## Active learning of the {record['family'].upper()} student", "",
                  "Each round the student runs its own MD; the teacher labels the frames; those the student has "
                  "wrong by at least the threshold join the training data and the best candidate is refit.", "",
                  "| round | exploration | frames | mean / max of abs(E student - E teacher) (meV/atom) | added | "
                  "refit validation loss |", "|---|---|---|---|---|---|"]
        stages = [(str(r["round"]), r["disagreement_meV_per_atom"], r["frames_added"], r.get("validation_loss"))
                  for r in record["rounds"]]
        if "check" in record:
            stages.append(("final student", record["check"]["disagreement_meV_per_atom"],
                           f"({record['check']['frames_above_threshold']} above the threshold)", None))
        for name, disagreement, added, loss in stages:
            for generator, d in disagreement.items():
                lines.append(f"| {name} | {generator} | {d.get('frames', 0)} | {_fmt(d.get('mean_abs'))} / "
                             f"{_fmt(d.get('max_abs'))} | {added} | {_fmt(loss)} |")
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
    figure(analysis / "cycle" / "cycle_reading.png", "cycle_reading.png",
           "amorphised region's crystalline fraction and the crystal fronts' heights")
    figure(analysis / AUDIT_FOLDER / "teacher_audit.png", "teacher_audit.png",
           "the cycle's frames re-evaluated by the teacher")
    figure(analysis / "cycle" / "snapshots" / "cycle_strip.png", "snapshots.png",
           "snapshots coloured by crystallinity (side view; lines: crystal fronts)")
    validation = out / FOLDERS["validation"]
    if validation.is_dir():
        for png in sorted(validation.glob("*/*/structure_rdf.png")):
            figure(png, f"validation_{png.parent.parent.name}_{png.parent.name}_rdf.png",
                   f"{png.parent.parent.name.upper()} vs teacher, {png.parent.name}: g(r)")
        for png in sorted(validation.glob("*/*/structure_angles.png")):
            figure(png, f"validation_{png.parent.parent.name}_{png.parent.name}_angles.png",
                   f"{png.parent.parent.name.upper()} vs teacher, {png.parent.name}: bond angles")

    lines = ["# simkit demo report", "",
             f"Config: `{plan.source}`; output folder: `{out}`; wall time of this invocation: {total_s:.0f} s.", "",
             "## Steps", "", "| step | what | outcome | wall when it ran (s) | folder |", "|---|---|---|---|---|"]
    lines += [f"| {h['step']} | {h['title']} | {h['outcome']} | {h['wall_s']:.0f} | `{h['folder']}` |" for h in history]
    lines += ["", "## Best candidates", "",
              "Loss, speed and survival as measured by the optimiser (same objective for both families: "
              "lower is better); the cycle runs the best " + _cycle_choice(plan), ""]
    lines += _best_rows(tables)
    lines += _refine_lines(out / FOLDERS["refine"])
    lines += _validation_lines(out / FOLDERS["validation"])
    # The audit comes before the reading: a failed audit voids the numbers the reading states.
    lines += ["", "## Device cycle", ""] + _cycle_lines(cycle, analysis) + _audit_lines(analysis)
    lines += _reading_lines(analysis)
    lines += ["", "## Figures", ""]
    for name, caption in figures:
        lines += [f"### {caption}", "", f"![{caption}]({name})", ""]
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
