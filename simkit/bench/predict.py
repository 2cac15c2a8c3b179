"""Time to solution of an MD protocol on N cores, modelled from a ``simkit bench scaling`` scan.

The protocol gives the atoms, the MD steps and the trajectory frames; each
potential's ``scaling.csv`` gives its cost. With A atoms on N cores (one MPI
rank per core), S steps and F frames:

* compute: ``t_atom`` = median over the successful 1-rank rows (strong and weak)
  of 1 / atom_steps_per_s, in s per atom-step on one core;
* communication per step: ``comm(N) = c (A/N)^(2/3) + latency log2(N)``: halo
  exchange grows with the subdomain's surface, collectives with log2 of the
  ranks. ``c`` and ``latency`` (both >= 0) are fitted by least squares to
  comm_s / timed steps of the successful rows on more than one rank; one such
  point gives ``c`` alone (latency 0); when the points cannot tell the two apart
  or the free fit turns one negative, the better one-term fit is kept. The fit
  used is written with the parameters. comm(1) = 0: one rank's own periodic
  exchange is already in ``t_atom``;
* time per step ``T(N) = A t_atom / N + comm(N)``; wall ``= S T(N) + F io``;
  core-hours ``= wall N / 3600``; parallel efficiency ``= wall(N0) N0 / (wall(N) N)``
  with N0 the smallest core count predicted;
* fewer than ``min_atoms_per_rank`` atoms per core: the row is marked beyond the
  strong-scaling limit and not predicted.

Assumptions (also in every output, see ``ASSUMPTIONS``): the cost per
atom-step measured on the scan's cell holds for the target cell; LAMMPS's Comm
section (which includes waiting for slower ranks) stands for all parallel
overhead; I/O is serial. The number of steps of one timed run (section times
are per timed run) comes from ``timed_steps``, else the scan's
run_summary.json beside the CSV, else the CSV itself (lammps_atom_steps_per_s x
loop_time_s / natoms).

Example::

    output_dir: runs/predict
    protocol: {md_config: md_pcm_device.yaml, atoms: 532980}
    # or: protocol: {atoms: 532980, timestep_fs: 2, stages: [{name: set, duration_ps: 20000, frame_every_ps: 1}]}
    potentials:
      - {name: teacher, scaling_csv: runs/scaling/scaling.csv, potential: ace-teacher}
      - {name: student, scaling_csv: runs/scaling/scaling.csv, potential: snap-student}
    io: {seconds_per_frame: 2.5, bytes_per_frame: 1.3e7}
    cores: [64, 128, 256, 512, 1024]

The protocol is read by :mod:`simkit.bench.predict_protocol`, each potential fitted by
:mod:`simkit.bench.predict_model`; :mod:`simkit.bench.predict_report` writes the outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from simkit.bench.predict_model import PotentialScaling, ScalingModel, fit_model
from simkit.bench.predict_protocol import ProtocolCost, ProtocolSpec, protocol_cost
from simkit.bench.scaling_report import read_csv
from simkit.config.schema import PathIn, Schema

ASSUMPTIONS = (
    "one MPI rank per core; time per step T(N) = atoms x t_atom / N + c (atoms/N)^(2/3) + latency log2(N)",
    "t_atom (s per atom-step on one core) is measured on the scan's cell and assumed to hold for the target cell",
    "communication (LAMMPS's Comm section, which includes waiting for slower ranks) stands for all parallel overhead;"
    " on one core it is 0 (already in t_atom)",
    "trajectory I/O is serial: frames x seconds_per_frame, not shrinking with N",
    "thermo output, checkpoints, start-up and minimise stages are not counted; velocity stages cost nothing",
    "parallel efficiency = wall(N0) N0 / (wall(N) N), N0 the smallest core count predicted",
)
DEFAULT_CORES = [2**k for k in range(1, 13)]


class IoSpec(Schema):
    """Trajectory output measured on the target cell."""

    seconds_per_frame: float = Field(default=0.0, ge=0)
    bytes_per_frame: float | None = Field(default=None, ge=0)


class PredictConfig(Schema):
    """A ``simkit bench predict`` run."""

    output_dir: PathIn
    protocol: ProtocolSpec
    potentials: list[PotentialScaling] = Field(min_length=1)
    io: IoSpec | None = None
    cores: list[int] = Field(default_factory=lambda: list(DEFAULT_CORES), min_length=1)
    min_atoms_per_rank: float = Field(default=100, gt=0)

    @field_validator("cores")
    @classmethod
    def _cores(cls, values: list[int]) -> list[int]:
        if any(v < 1 for v in values) or len(set(values)) != len(values):
            raise ValueError(f"cores must be distinct positive integers, got {values}")
        return sorted(values)

    @model_validator(mode="after")
    def _unique(self) -> "PredictConfig":
        names = [p.name for p in self.potentials]
        if len(set(names)) != len(names):
            raise ValueError(f"potential names must be unique, got {names}")
        return self



class RowStatus(StrEnum):
    OK = "ok"
    BEYOND_LIMIT = "beyond the strong-scaling limit"


@dataclass(frozen=True)
class Estimate:
    """One potential on one core count (s)."""

    compute_s_per_step: float
    comm_s_per_step: float
    io_s: float
    wall_s: float
    efficiency: float

    @property
    def s_per_step(self) -> float:
        return self.compute_s_per_step + self.comm_s_per_step


@dataclass
class PredictionRow:
    cores: int
    atoms_per_core: float
    status: RowStatus
    estimates: dict[str, Estimate] = field(default_factory=dict)  # empty beyond the limit


@dataclass
class Prediction:
    protocol: ProtocolCost
    models: list[ScalingModel]
    rows: list[PredictionRow]
    io: IoSpec
    io_given: bool
    min_atoms_per_rank: float

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def ratios(self, row: PredictionRow) -> dict[str, float]:
        """wall(first potential) / wall(other) for each other potential: how much faster the other is."""
        first, *others = self.names
        if row.status != RowStatus.OK:
            return {}
        return {f"{first}/{o}": row.estimates[first].wall_s / row.estimates[o].wall_s for o in others}


def predict(config: PredictConfig) -> Prediction:
    protocol = protocol_cost(config.protocol)
    tables: dict[Path, list[dict]] = {}
    models = []
    for index, spec in enumerate(config.potentials):
        if spec.scaling_csv not in tables:
            tables[spec.scaling_csv] = read_csv(spec.scaling_csv)
        models.append(fit_model(spec, index, tables[spec.scaling_csv]))
    io = config.io or IoSpec()
    atoms, io_s = protocol.atoms, protocol.frames * io.seconds_per_frame
    rows = [PredictionRow(n, atoms / n, RowStatus.OK if atoms / n >= config.min_atoms_per_rank
                          else RowStatus.BEYOND_LIMIT) for n in config.cores]
    done = [row for row in rows if row.status == RowStatus.OK]
    for model in models:
        walls = {row.cores: protocol.steps * model.s_per_step(atoms, row.cores) + io_s for row in done}
        if not walls:
            break
        base = min(walls)
        for row in done:
            efficiency = walls[base] * base / (walls[row.cores] * row.cores)
            row.estimates[model.name] = Estimate(atoms * model.t_atom_s / row.cores,
                                                 model.comm_s_per_step(atoms, row.cores), io_s,
                                                 walls[row.cores], efficiency)
    return Prediction(protocol, models, rows, io, config.io is not None, config.min_atoms_per_rank)
