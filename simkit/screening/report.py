"""The outcome of a survival screen: fractions, times to failure, modes; JSON, table and PNG.

Cancelled replicas (early stop) count as not survived: the reported fraction is
then a lower bound, and the screen stopped only because even the best case
could not reach the required minimum.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simkit.runtime.files import atomic_write_text
from simkit.screening.replica import ReplicaResult, ReplicaStatus

SURVIVAL_JSON = "survival.json"
SURVIVAL_PNG = "survival.png"
FORMAT_VERSION = 1


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    return value


@dataclass
class SurvivalReport:
    """All replicas of one screen plus what was screened and how (see :func:`run_survival`)."""

    replicas: list[ReplicaResult]
    settings: dict
    limits: dict
    potential: dict
    seed: int
    parallel: dict
    min_survival_fraction: float | None = None
    wall_s: float = 0.0
    extra: dict = field(default_factory=dict)

    # -- numbers ---------------------------------------------------------------------
    @property
    def total(self) -> int:
        return len(self.replicas)

    @property
    def survived(self) -> int:
        return sum(r.status == ReplicaStatus.SURVIVED for r in self.replicas)

    @property
    def survival_fraction(self) -> float:
        return self.survived / self.total if self.total else 0.0

    @property
    def early_stopped(self) -> bool:
        return any(r.status == ReplicaStatus.CANCELLED for r in self.replicas)

    @property
    def passed(self) -> bool | None:
        """Whether the required minimum was reached (None when none was required)."""
        if self.min_survival_fraction is None:
            return None
        return self.survival_fraction >= self.min_survival_fraction - 1e-12

    @property
    def failure_modes(self) -> dict[str, int]:
        return dict(Counter(r.mode for r in self.replicas if r.status == ReplicaStatus.FAILED))

    @property
    def max_gamma(self) -> float | None:
        """The largest ACE extrapolation grade any replica reached at its checks (None: not graded)."""
        graded = [r.max_gamma for r in self.replicas if r.max_gamma is not None]
        return max(graded) if graded else None

    @property
    def times_to_failure_ps(self) -> list[float]:
        return sorted(r.failure_time_ps for r in self.replicas if r.status == ReplicaStatus.FAILED and r.failure_time_ps is not None)

    @property
    def run_length_ps(self) -> float | None:
        """Simulated time of a replica that survives: ramp + hold + NVE segment."""
        try:
            ramp = self.settings.get("ramp") or {}
            return ramp.get("duration_ps", 0.0) + self.settings["duration_ps"] + self.settings["nve_duration_ps"]
        except (KeyError, TypeError):
            return None

    def per_temperature(self) -> dict[float, dict]:
        """For each temperature: counts, fraction survived, failure modes, time-to-failure summary."""
        table: dict[float, dict] = {}
        for temperature in sorted({r.temperature_K for r in self.replicas}):
            group = [r for r in self.replicas if r.temperature_K == temperature]
            times = sorted(r.failure_time_ps for r in group if r.status == ReplicaStatus.FAILED and r.failure_time_ps is not None)
            table[temperature] = {
                "replicas": len(group),
                "survived": sum(r.status == ReplicaStatus.SURVIVED for r in group),
                "failed": sum(r.status == ReplicaStatus.FAILED for r in group),
                "cancelled": sum(r.status == ReplicaStatus.CANCELLED for r in group),
                "survival_fraction": sum(r.status == ReplicaStatus.SURVIVED for r in group) / len(group),
                "failure_modes": dict(Counter(r.mode for r in group if r.status == ReplicaStatus.FAILED)),
                "times_to_failure_ps": times,
                "median_time_to_failure_ps": statistics.median(times) if times else None,
            }
        return table

    # -- files -----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return _finite_or_none({
            "format_version": FORMAT_VERSION,
            "survival_fraction": self.survival_fraction,
            "survived": self.survived,
            "total": self.total,
            "early_stopped": self.early_stopped,
            "min_survival_fraction": self.min_survival_fraction,
            "passed": self.passed,
            "failure_modes": self.failure_modes,
            "max_gamma": self.max_gamma,
            "times_to_failure_ps": self.times_to_failure_ps,
            "per_temperature": {f"{t:g}": v for t, v in self.per_temperature().items()},
            "wall_s": self.wall_s,
            "parallel": self.parallel,
            "seed": self.seed,
            "limits": self.limits,
            "settings": self.settings,
            "potential": self.potential,
            "extra": self.extra,
            "replicas": [r.to_dict() for r in self.replicas],
        })

    def write_json(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def read_json(cls, path: Path) -> "SurvivalReport":
        data = json.loads(Path(path).read_text())
        return cls(
            replicas=[ReplicaResult.from_dict(r) for r in data["replicas"]],
            settings=data["settings"], limits=data["limits"], potential=data["potential"], seed=data["seed"],
            parallel=data["parallel"], min_survival_fraction=data["min_survival_fraction"],
            wall_s=data["wall_s"], extra=data.get("extra", {}),
        )

    def table(self) -> str:
        """A short plain-text summary for the terminal."""
        lines = [f"{'T (K)':>8} {'survived':>9} {'failed':>7} {'cancelled':>10} {'median t_fail (ps)':>19}  modes"]
        for temperature, row in self.per_temperature().items():
            median = row["median_time_to_failure_ps"]
            modes = ", ".join(f"{m} x{n}" for m, n in sorted(row["failure_modes"].items())) or "-"
            lines.append(
                f"{temperature:>8g} {row['survived']:>4}/{row['replicas']:<4} {row['failed']:>7} "
                f"{row['cancelled']:>10} {('-' if median is None else f'{median:.3f}'):>19}  {modes}"
            )
        verdict = f"survival {self.survived}/{self.total} = {100 * self.survival_fraction:.1f} %"
        if self.min_survival_fraction is not None:
            verdict += f" (required {100 * self.min_survival_fraction:.1f} %: {'pass' if self.passed else 'FAIL'})"
        if self.early_stopped:
            verdict += "; stopped early, cancelled replicas count as not survived"
        lines.append(verdict)
        return "\n".join(lines)

    def plot(self, path: Path) -> Path:
        """Survival fraction per temperature and times to failure, coloured by mode."""
        # lazy: matplotlib takes ~0.5 s to import and only the figure needs it
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        per_t = self.per_temperature()
        temperatures = list(per_t)
        figure = Figure(figsize=(9.0, 3.6), layout="constrained")
        FigureCanvasAgg(figure)
        left, right = figure.subplots(1, 2)
        positions = range(len(temperatures))
        left.bar(positions, [100 * per_t[t]["survival_fraction"] for t in temperatures], color="tab:green")
        left.set_xticks(list(positions), [f"{t:g}" for t in temperatures])
        left.set_xlabel("temperature (K)")
        left.set_ylabel("survived (%)")
        left.set_ylim(0, 105)
        left.set_title(f"survival {100 * self.survival_fraction:.0f} % of {self.total}")
        modes = sorted({r.mode for r in self.replicas if r.status == ReplicaStatus.FAILED})
        colours = {m: f"C{i}" for i, m in enumerate(modes)}
        for mode in modes:
            points = [(positions[temperatures.index(r.temperature_K)], r.failure_time_ps)
                      for r in self.replicas if r.status == ReplicaStatus.FAILED and r.mode == mode and r.failure_time_ps is not None]
            if points:
                right.scatter(*zip(*points), label=mode, color=colours[mode], alpha=0.8)
        run_ps = self.run_length_ps
        if run_ps:
            right.axhline(run_ps, color="grey", linestyle="--", linewidth=1)
            right.text(len(temperatures) - 0.5, run_ps, "end of run ", ha="right", va="bottom", color="grey",
                       fontsize="small")
        right.set_xticks(list(positions), [f"{t:g}" for t in temperatures])
        right.set_xlim(-0.5, len(temperatures) - 0.5)
        right.set_xlabel("temperature (K)")
        right.set_ylabel("time to failure (ps)")
        right.set_ylim(bottom=0)
        if modes:
            right.legend(fontsize="small")
        else:
            right.text(0.5, 0.5, "no failures", ha="center", va="center", transform=right.transAxes)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=120)
        return path
