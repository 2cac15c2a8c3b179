"""The cost side of ``simkit bench predict``: one potential's compute and communication fitted to a scaling scan.

See :mod:`simkit.bench.predict` for the model and its assumptions.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import Field

from simkit.bench.scaling import NAME_PATTERN
from simkit.config.schema import ExistingFile, Schema
from simkit.errors import InputDataError
from simkit.runtime.outputs import RUN_SUMMARY

_REQUIRED = ("potential", "mode", "ranks", "natoms", "status", "atom_steps_per_s", "comm_s")
_COMPUTE_SECTIONS = ("pair_s", "neigh_s", "modify_s", "other_s")


class PotentialScaling(Schema):
    name: str = Field(pattern=NAME_PATTERN, description="column label (letters, digits, _ . + -)")
    scaling_csv: ExistingFile = Field(description="scaling.csv written by simkit bench scaling")
    potential: str = Field(description="the potential's name in the CSV's potential column")
    timed_steps: int | None = Field(default=None, ge=1, description="steps of one timed run (default: from the scan)")


@dataclass
class ScalingModel:
    """One potential's fitted cost; times in s, per step unless named per atom-step."""

    name: str
    csv_potential: str
    t_atom_s: float  # per atom-step on one core
    sections_s_per_atom_step: float | None  # pair + neigh + modify + other at 1 rank (a check on t_atom)
    comm_c_s: float  # per step per (atoms per rank)^(2/3)
    latency_s: float  # per step per log2(ranks)
    fit: str
    timed_steps: int
    timed_steps_source: str
    comm_points: list[dict] = field(default_factory=list)

    def comm_s_per_step(self, atoms: float, ranks: int) -> float:
        if ranks == 1:
            return 0.0
        return self.comm_c_s * (atoms / ranks) ** (2.0 / 3.0) + self.latency_s * math.log2(ranks)

    def s_per_step(self, atoms: float, ranks: int) -> float:
        return atoms * self.t_atom_s / ranks + self.comm_s_per_step(atoms, ranks)


def _number(row: dict, column: str, source: str) -> float | None:
    text = row.get(column) or ""
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputDataError(f"{source}: column '{column}' = {text!r} is not a finite number "
                             f"({row.get('potential')}, {row.get('mode')}, {row.get('ranks')} ranks)")
    return value


def _value(row: dict, column: str, source: str) -> float:
    value = _number(row, column, source)
    if value is None:
        raise InputDataError(f"{source}: column '{column}' is empty in a successful row "
                             f"({row.get('potential')}, {row.get('mode')}, {row.get('ranks')} ranks)")
    return value


def _timed_steps(rows: list[dict], source: Path, key: str, given: int | None) -> tuple[int, str]:
    if given is not None:
        return given, f"config key '{key}'"
    summary = source.parent / RUN_SUMMARY
    try:
        data = json.loads(summary.read_text()) if summary.is_file() else {}
    except (OSError, ValueError):
        data = {}  # not the scan's summary: the CSV may still tell
    steps = ((data.get("config") or {}).get("timing") or {}).get("steps")
    if data.get("command") == "bench scaling" and isinstance(steps, int) and steps >= 1:
        return steps, f"{summary} (config.timing.steps)"
    derived = []
    for row in rows:
        rate, loop = _number(row, "lammps_atom_steps_per_s", str(source)), _number(row, "loop_time_s", str(source))
        if rate and loop:
            derived.append(rate * loop / _value(row, "natoms", str(source)))
    steps = round(statistics.median(derived)) if derived else 0
    # exact with an odd number of repeats; an even one (median of two) may be off, and then rows disagree
    if steps < 1 or any(abs(d - steps) > 0.02 * steps for d in derived):
        raise InputDataError(f"{source}: the steps of one timed run cannot be told from the scan "
                             f"(no {RUN_SUMMARY} beside it, lammps_atom_steps_per_s x loop_time_s / natoms "
                             f"{'missing' if not derived else 'inconsistent'}); set '{key}'")
    return steps, "derived from the CSV (lammps_atom_steps_per_s x loop_time_s / natoms)"


def fit_comm(x: np.ndarray, log_ranks: np.ndarray, y: np.ndarray) -> tuple[float, float, str]:
    """Non-negative least squares of ``y = c x + latency log_ranks``: (c, latency, how)."""
    n = len(y)
    if n == 1:
        return float(y[0] / x[0]), 0.0, "one multi-rank point: c from it, latency 0"
    design = np.column_stack([x, log_ranks])
    if np.linalg.matrix_rank(design) < 2:
        c = float(x @ y / (x @ x))
        return c, 0.0, f"{n} multi-rank points that cannot separate c from latency: c fitted, latency 0"
    (c, latency), *_ = np.linalg.lstsq(design, y, rcond=None)
    if c >= 0 and latency >= 0:
        return float(c), float(latency), f"least squares over {n} multi-rank points"
    c_only, latency_only = max(0.0, x @ y / (x @ x)), max(0.0, log_ranks @ y / (log_ranks @ log_ranks))
    if np.sum((y - c_only * x) ** 2) <= np.sum((y - latency_only * log_ranks) ** 2):
        return float(c_only), 0.0, f"least squares over {n} multi-rank points, latency held at 0 (free fit < 0)"
    return 0.0, float(latency_only), f"least squares over {n} multi-rank points, c held at 0 (free fit < 0)"


def fit_model(spec: PotentialScaling, index: int, rows: list[dict]) -> ScalingModel:
    """The cost of ``spec.potential`` from the rows of its scaling CSV; InputDataError naming file and key."""
    source, key = spec.scaling_csv, f"potentials[{index}]"
    missing = [c for c in _REQUIRED if rows and c not in rows[0]]
    if not rows or missing:
        raise InputDataError(f"{source}: not a simkit bench scaling table (missing columns: {missing or 'all'})")
    mine = [r for r in rows if r["potential"] == spec.potential]
    if not mine:
        names = sorted({r["potential"] for r in rows})
        raise InputDataError(f"{source}: key '{key}.potential' = {spec.potential!r} is not in the CSV; "
                             f"it has {', '.join(names)}")
    ok = [{**r, "ranks": int(_value(r, "ranks", str(source))), "natoms": _value(r, "natoms", str(source))}
          for r in mine if r["status"] == "ok" and _number(r, "atom_steps_per_s", str(source))]
    one = [r for r in ok if r["ranks"] == 1]
    if not one:
        raise InputDataError(f"{source}: potential {spec.potential!r} ({key}) has no successful 1-rank row")
    steps, steps_source = _timed_steps(ok, source, f"{key}.timed_steps", spec.timed_steps)
    t_atom = statistics.median(1.0 / float(r["atom_steps_per_s"]) for r in one)
    sections = [sum(_number(r, c, str(source)) or 0.0 for c in _COMPUTE_SECTIONS) / (r["natoms"] * steps)
                for r in one if any(_number(r, c, str(source)) is not None for c in _COMPUTE_SECTIONS)]
    multi = [r for r in ok if r["ranks"] > 1 and _number(r, "comm_s", str(source)) is not None]
    if not multi:
        raise InputDataError(f"{source}: potential {spec.potential!r} ({key}) has no successful row on more than "
                             "one rank: communication cannot be fitted")
    ranks = np.array([r["ranks"] for r in multi], dtype=float)
    per_rank = np.array([r["natoms"] for r in multi]) / ranks
    comm = np.array([float(r["comm_s"]) for r in multi]) / steps
    c, latency, how = fit_comm(per_rank ** (2.0 / 3.0), np.log2(ranks), comm)
    points = [{"mode": r["mode"], "ranks": int(n), "atoms_per_rank": float(a), "comm_s_per_step": float(y),
               "fitted_s_per_step": float(c * a ** (2.0 / 3.0) + latency * math.log2(n))}
              for r, n, a, y in zip(multi, ranks, per_rank, comm)]
    return ScalingModel(spec.name, spec.potential, t_atom, statistics.median(sections) if sections else None,
                        c, latency, how, steps, steps_source, points)

