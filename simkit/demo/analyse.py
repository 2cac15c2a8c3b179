"""The demo's analysis of the device cycle: RDF per named stage and the crystalline fraction.

Stage windows come from the cycle's ``run_summary.json`` (the begin and end
time of every segment), so "the RDF during the SET anneal" is the average over
the frames written while that stage ran. Each analysis writes its own folder
exactly as ``simkit analyse`` would; the overlay of the stage RDFs is the
demo's own figure.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from simkit.analysis import options_model, run_analysis
from simkit.analysis.output import new_figure, save_figure, write_csv
from simkit.config.loader import validate_config
from simkit.demo.audit import AUDIT_FOLDER, audit_cycle
from simkit.demo.config import AnalysisSection
from simkit.demo.cycle_reading import read_cycle
from simkit.drivers.md.runner import INITIAL_STRUCTURE
from simkit.errors import InputDataError

RDF_FIGURE = "rdf_by_stage.png"
CYCLE_FOLDER = "cycle"


def stage_windows(run_summary: Path) -> dict[str, tuple[float, float]]:
    """{stage name: (begin, end) in ps}; a stage of several segments spans all of them."""
    segments = json.loads(run_summary.read_text()).get("results", {}).get("segments", [])
    windows: dict[str, tuple[float, float]] = {}
    for segment in segments:
        name = segment["label"].split("/")[0]
        begin, end = float(segment["begin_time_ps"]), float(segment["end_time_ps"])
        if name in windows:
            begin, end = min(begin, windows[name][0]), max(end, windows[name][1])
        windows[name] = (begin, end)
    return windows


def analyse_cycle(trajectory: Path, run_summary: Path, section: AnalysisSection, folder: Path, *,
                  base_dir: Path, student=None, teacher=None) -> dict[str, Path]:
    """Write ``rdf-<stage>/``, ``crystallinity/``, the overlay figure and (given the cycle's ``student``
    potential spec and the data's ``teacher`` spec) the teacher's audit of the frames into ``folder``."""
    windows = stage_windows(run_summary)
    outputs: dict[str, Path] = {}
    results = {}
    rdf_model = options_model("rdf")
    for name in section.rdf_stages:
        if name not in windows:
            raise InputDataError(f"{run_summary}: the cycle has no finished stage named {name!r}")
        begin, end = windows[name]
        options = validate_config(rdf_model, {**section.rdf.model_dump(), "start_ps": begin, "stop_ps": end},
                                  source=f"analysis.rdf ({name})", base_dir=base_dir)
        try:
            result, written = run_analysis(trajectory, "rdf", options, folder / f"rdf-{name}", progress=False)
        except Exception as exc:  # an empty window is the usual cause: say which stage
            raise InputDataError(f"{trajectory}: RDF over stage {name!r} ({begin:.1f}-{end:.1f} ps): {exc}") from exc
        results[name] = result
        outputs[f"rdf-{name}"] = written["png"]
    crystallinity = validate_config(options_model("crystallinity"), crystallinity_options(section, trajectory),
                                    source="analysis.crystallinity", base_dir=base_dir)
    result, written = run_analysis(trajectory, "crystallinity", crystallinity, folder / "crystallinity",
                                   progress=False)
    outputs["crystallinity"] = written["png"]
    outputs["rdf_by_stage"] = _overlay(results, windows, folder)
    if section.cycle is not None:
        flags = crystal_flags(result, crystallinity)
        read_cycle(trajectory, result, flags, windows, section.cycle, folder / CYCLE_FOLDER, run_summary)
        outputs["cycle_reading"] = folder / CYCLE_FOLDER / "cycle_reading.png"
    if section.audit is not None and student is not None and teacher is not None:
        audit_cycle(trajectory, student, teacher, windows, section.audit, folder / AUDIT_FOLDER)
        outputs["teacher_audit"] = folder / AUDIT_FOLDER / "teacher_audit.png"
    return outputs


def crystallinity_options(section: AnalysisSection, trajectory: Path) -> dict:
    """The section's crystallinity options; SOAP without a reference compares with the cycle's starting cell."""
    options = dict(section.crystallinity)
    if options.get("method", "soap") == "soap" and not {"reference_file", "reference_lattice"} & set(options):
        options["reference_file"] = str(trajectory.parent / INITIAL_STRUCTURE)
    return options


def crystal_flags(result, options) -> list[np.ndarray]:
    """Per-frame crystal-like flags from the per-atom scores, by the options' own rule."""
    scores = list(result.score)
    if options.method == "soap":
        return [np.asarray(s) > options.threshold for s in scores]
    return [np.asarray(s) >= options.min_solid_bonds for s in scores]


def _overlay(results: dict, windows: dict[str, tuple[float, float]], folder: Path) -> Path:
    figure = new_figure()
    axis = figure.add_subplot()
    columns = {}
    for name, result in results.items():
        key = "total" if "total" in result.g else next(iter(result.g))
        begin, end = windows[name]
        axis.plot(result.r_A, result.g[key], lw=1.5,
                  label=f"{name} ({begin:.0f}-{end:.0f} ps, {result.frames} frames)")
        columns.setdefault("r_A", result.r_A)
        columns[f"g_{name}"] = result.g[key]
    axis.axhline(1.0, color="0.6", lw=0.8, ls=":")
    axis.set_xlabel("r (Å)")
    axis.set_ylabel("g(r)")
    axis.set_title("radial distribution by cycle stage")
    axis.legend(fontsize="small")
    write_csv(folder / "rdf_by_stage.csv", columns)
    return save_figure(figure, folder / RDF_FIGURE)
