"""Students against their teacher: errors per phase, liquid and amorphous structure, speed.

* Errors per phase: the best candidate's validation metrics, which the
  optimiser computed on the held-out benchmark set (one melt-quench trajectory
  from the crystal, frames labelled crystal, liquid, amorphous).
* Structure: every training generator that took liquid or amorphous
  snapshots is run again with the student in the teacher's place (the same
  starting cell, seeds and temperature schedule, :func:`replay_generator`), and
  the student's snapshots are compared with the teacher's from the dataset:
  partial g(r) and their first peaks, bond-angle distributions, the Sb-Te (any
  listed pair's) coordination, density (:mod:`simkit.analysis.compare`).
* Speed: the best candidate's measured atom-steps/s per core and its cost
  relative to the teacher, as the optimiser recorded them.

A student that blows up in a replay (lost atoms, non-finite energies) is a
finding, not a failed demo: the case is recorded as ``unstable`` with LAMMPS's
message, the other cases go on, and the student is marked ``stable: false``
(the cycle then prefers a stable student).

Writes ``<folder>/<family>/<phase>-generator<k>/`` (CSV, JSON, overlaid figures)
and ``<folder>/validation.json``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ase.io import read
from pydantic import Field

from simkit.analysis.compare import Tolerances, compare_structures, structure_summary
from simkit.config.schema import Schema
from simkit.distil.config import DistilConfig
from simkit.distil.generators import TrajectoryGen
from simkit.distil.runner import replay_generator
from simkit.errors import InputDataError, LammpsError, RunFailed

log = logging.getLogger(__name__)

STRUCTURE_PHASES = ("liquid", "amorphous")
SUMMARY = "validation.json"


class ValidationSection(Schema):
    """How students are compared with the teacher (demo section ``validate``)."""

    cutoffs_A: dict[str, float] = Field(description='coordination cutoffs per pair, e.g. {"Sb-Te": 3.6} (Å)')
    angle_cutoff_A: float = Field(gt=0, description="bond length limit of the bond-angle distributions (Å)")
    r_max_A: float = Field(default=6.0, gt=0)
    bin_width_A: float = Field(default=0.05, gt=0)
    first_peak_position_tolerance_A: float = Field(default=0.05, gt=0)
    first_peak_height_tolerance: float = Field(default=0.15, gt=0, description="relative")
    coordination_tolerance: float = Field(default=0.3, gt=0, description="absolute")


def structure_cases(config: DistilConfig) -> list[tuple[int, str]]:
    """(generator index, phase) of every training trajectory that took liquid or amorphous snapshots."""
    cases = []
    for index, gen in enumerate(config.generators):
        if isinstance(gen, TrajectoryGen) and gen.split == "train":
            phases = {s.phase for s in gen.segments if s.snapshots} & set(STRUCTURE_PHASES)
            cases += [(index, phase) for phase in sorted(phases)]
    return cases


def teacher_frames(dataset: list, source: Path, index: int, phase: str) -> list:
    """The teacher's snapshots of generator ``index`` in ``phase`` among the frames read from ``source``."""
    frames = [a for a in dataset if a.info.get("generator") == index and a.info.get("config_type") == phase]
    if not frames:
        raise InputDataError(f"{source}: no {phase} frames of generator {index} (made by an older simkit?)")
    return frames


def _errors_per_phase(best_dir: Path) -> dict[str, Any]:
    metrics = json.loads((best_dir / "metrics.json").read_text())
    scores = metrics.get("validation", metrics)
    keep = ("energy_rmse_meV_per_atom", "force_component_rmse_meV_per_A", "loss")
    per_phase = {name: {k: values.get(k) for k in keep} for name, values in scores.get("config_types", {}).items()}
    overall = scores.get("overall", {})
    return {"overall": {k: overall.get(k) for k in keep}, "per_phase": per_phase}


def _speed(run_dir: Path) -> dict[str, Any]:
    table = pd.read_csv(run_dir / "candidates.csv")
    best = table[table["best"]]
    if best.empty:
        return {}
    row = best.iloc[0]
    keys = [k for k in table.columns if k.startswith(("speed_", "relative_speed", "cost"))]
    return {k: (None if pd.isna(row[k]) else float(row[k])) for k in keys}


def validate_student(family: str, potential: dict, config: DistilConfig, dataset: Path, run_dir: Path,
                     section: ValidationSection, folder: Path, metrics_dir: Path | None = None) -> dict[str, Any]:
    """Compare one student with the teacher; returns its summary (also written under ``folder/family``).

    Errors come from ``metrics_dir``'s ``metrics.json`` (a refit of the best candidate), else from the
    optimiser's ``run_dir/best``."""
    tolerances = Tolerances(first_peak_position_A=section.first_peak_position_tolerance_A,
                            first_peak_height_rel=section.first_peak_height_tolerance,
                            coordination_abs=section.coordination_tolerance)
    options = dict(cutoffs_A=section.cutoffs_A, angle_cutoff_A=section.angle_cutoff_A, r_max_A=section.r_max_A,
                   bin_width_A=section.bin_width_A)
    structure = {}
    replays: dict[int, list] = {}
    frames = read(dataset, index=":", parallel=False)  # once: every case picks its own frames from it
    for index, phase in structure_cases(config):
        name = f"{phase}-generator{index}"
        if index not in replays:
            log.info("[validate] %s: generator %d again with the student", family, index)
            try:
                replays[index] = replay_generator(config, index, potential)
            except (LammpsError, RunFailed) as exc:
                log.warning("[validate] %s is unstable in generator %d: %s", family, index, exc)
                replays[index] = exc
        if isinstance(replays[index], Exception):
            structure[name] = {"phase": phase, "status": "unstable", "error": str(replays[index])}
            continue
        student = [atoms for atoms, info in replays[index] if info.get("config_type") == phase]
        reference = teacher_frames(frames, dataset, index, phase)
        comparison = compare_structures(structure_summary(reference, **options), structure_summary(student, **options),
                                        labels=("teacher", family), tolerances=tolerances)
        written = comparison.write(folder / family / name, stem="structure")
        structure[name] = {"phase": phase, "status": "compared", **comparison.to_dict(),
                           "figures": {k: str(v) for k, v in written.items() if str(v).endswith(".png")}}
    stable = all(result["status"] != "unstable" for result in structure.values())
    return {"family": family, "stable": stable, "errors": _errors_per_phase(metrics_dir or run_dir / "best"),
            "speed": _speed(run_dir), "structure": structure}


def write_summary(results: list[dict[str, Any]], folder: Path) -> Path:
    path = folder / SUMMARY
    path.write_text(json.dumps({"students": results}, indent=2, allow_nan=False,
                               default=lambda v: None if isinstance(v, float) and not np.isfinite(v) else str(v)) + "\n")
    return path
