"""Strong and weak scaling of one or more potentials, each point its own MPI job.

For every potential, each point of the strong scan (fixed ``atoms``) and of the
weak scan (``atoms_per_rank`` x ranks) is one ``simkit speed`` job started
with the configured launcher (``mpirun -np N`` by default), so every point pays
its own start-up and gets a fresh LAMMPS, as a production job would. A point
that fails (error, too many ranks for the cell, time limit) is recorded with
its reason and the scan goes on.

Definitions, with R the atom-steps per second of a point on n ranks and R0, n0
those of the smallest successful rank count of the same potential and scan:

* speed-up = R / R0 (ideal: n / n0);
* parallel efficiency = (R / n) / (R0 / n0), i.e. per-rank throughput relative
  to the base point; for strong scaling this is t0 n0 / (t n), for weak scaling
  (constant atoms per rank) t0 / t;
* relative speed = R / R_reference for points of the same scan, rank count and
  cell (the comparison mode, as "relative MD speed" columns).

Example::

    output_dir: runs/scaling
    structure: {bulk: {element: Si, crystal: diamond, a_A: 5.431, cubic: true}}
    potentials:
      - {name: snap-2j8, potential: {kind: snap, coeff: lammps:Si_Zuo_JPCA2020.snapcoeff, param: lammps:Si_Zuo_JPCA2020.snapparam}}
      - {name: ace, potential: {kind: ace, yace: si.yace}}
    reference: snap-2j8
    strong: {atoms: 4000, ranks: [1, 2, 4]}
    weak: {atoms_per_rank: 1000, ranks: [1, 2, 4]}
    timing: {steps: 50, warmup_steps: 10, repeats: 3}
    launcher: {command: ["srun", "--mpi=pmi2", "-n", "{ranks}"]}
"""

from __future__ import annotations

import json
import logging
import statistics
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import Field, field_validator, model_validator

from simkit.bench.launch import LauncherSpec, run_job, simkit_command
from simkit.bench.machine import machine_info
from simkit.config.schema import PathIn, Schema
from simkit.lammps.potentials.specs import PotentialSpec
from simkit.screening.speed import SPEED_JSON, TimingSettings
from simkit.structures.spec import StructureSpec

log = logging.getLogger(__name__)

STRONG = "strong"
WEAK = "weak"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$"


def _rank_list(values: list[int]) -> list[int]:
    if any(v < 1 for v in values) or len(set(values)) != len(values):
        raise ValueError(f"ranks must be distinct positive integers, got {values}")
    return sorted(values)


class StrongScan(Schema):
    """Fixed cell of at least ``atoms`` atoms on each rank count."""

    atoms: int = Field(ge=1)
    ranks: list[int] = Field(min_length=1)

    @field_validator("ranks")
    @classmethod
    def _ranks(cls, values: list[int]) -> list[int]:
        return _rank_list(values)


class WeakScan(Schema):
    """Cell of at least ``atoms_per_rank`` x ranks atoms on each rank count."""

    atoms_per_rank: int = Field(ge=1)
    ranks: list[int] = Field(min_length=1)

    @field_validator("ranks")
    @classmethod
    def _ranks(cls, values: list[int]) -> list[int]:
        return _rank_list(values)


class NamedPotential(Schema):
    name: str = Field(pattern=NAME_PATTERN, description="label in tables and plots (letters, digits, _ . + -)")
    potential: PotentialSpec


class ScalingConfig(Schema):
    """A ``simkit bench scaling`` run (at least one of ``strong`` and ``weak``)."""

    output_dir: PathIn
    seed: int = Field(default=0, ge=0)
    structure: StructureSpec
    potentials: list[NamedPotential] = Field(min_length=1)
    reference: str | None = Field(default=None, description="potential the others are compared with (default: first)")
    strong: StrongScan | None = None
    weak: WeakScan | None = None
    timing: TimingSettings = Field(default_factory=lambda: TimingSettings(steps=50, warmup_steps=10, repeats=3))
    launcher: LauncherSpec = Field(default_factory=LauncherSpec)

    @model_validator(mode="after")
    def _consistent(self) -> "ScalingConfig":
        if self.strong is None and self.weak is None:
            raise ValueError("give 'strong', 'weak' or both")
        names = [p.name for p in self.potentials]
        if len(set(names)) != len(names):
            raise ValueError(f"potential names must be unique, got {names}")
        if self.reference is not None and self.reference not in names:
            raise ValueError(f"reference {self.reference!r} is not one of the potentials {names}")
        return self

    @property
    def reference_name(self) -> str:
        return self.reference or self.potentials[0].name


class PointStatus(StrEnum):
    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"


@dataclass
class ScalingPoint:
    """One (potential, scan, rank count) job and what it measured."""

    potential: str
    mode: str
    ranks: int
    target_atoms: int
    status: PointStatus = PointStatus.PENDING
    reason: str = ""
    natoms: int | None = None
    atom_steps_per_s: float | None = None  # median over repeats, wall clock
    atom_steps_per_s_min: float | None = None
    atom_steps_per_s_max: float | None = None
    lammps_atom_steps_per_s: float | None = None  # median, from LAMMPS's loop time
    loop_time_s: float | None = None  # median LAMMPS loop time of one repeat
    sections_s: dict[str, float] = field(default_factory=dict)
    job_wall_s: float | None = None  # the whole job: launch, start-up, warm-up, repeats
    speedup: float | None = None
    parallel_efficiency: float | None = None
    relative_speed: float | None = None
    directory: str = ""

    @property
    def ok(self) -> bool:
        return self.status == PointStatus.OK

    @property
    def atom_steps_per_s_per_rank(self) -> float | None:
        return None if self.atom_steps_per_s is None else self.atom_steps_per_s / self.ranks

    @property
    def atoms_per_rank(self) -> float | None:
        return None if self.natoms is None else self.natoms / self.ranks

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(atom_steps_per_s_per_rank=self.atom_steps_per_s_per_rank, atoms_per_rank=self.atoms_per_rank)
        return data


def planned_points(config: ScalingConfig) -> list[ScalingPoint]:
    points = []
    for named in config.potentials:
        if config.strong is not None:
            points += [ScalingPoint(named.name, STRONG, n, config.strong.atoms) for n in config.strong.ranks]
        if config.weak is not None:
            points += [ScalingPoint(named.name, WEAK, n, config.weak.atoms_per_rank * n) for n in config.weak.ranks]
    return points


def compute_metrics(points: list[ScalingPoint], reference: str) -> None:
    """Fill speed-up, parallel efficiency and relative speed in place (see the module docstring)."""
    groups: dict[tuple[str, str], list[ScalingPoint]] = {}
    for point in points:
        groups.setdefault((point.potential, point.mode), []).append(point)
    for group in groups.values():
        done = [p for p in group if p.ok]
        if not done:
            continue
        base = min(done, key=lambda p: p.ranks)
        for point in done:
            point.speedup = point.atom_steps_per_s / base.atom_steps_per_s
            point.parallel_efficiency = (point.atom_steps_per_s / point.ranks) / (base.atom_steps_per_s / base.ranks)
    references = {(p.mode, p.ranks, p.target_atoms): p for p in points if p.potential == reference and p.ok}
    for point in points:
        ref = references.get((point.mode, point.ranks, point.target_atoms))
        if point.ok and ref is not None:
            point.relative_speed = point.atom_steps_per_s / ref.atom_steps_per_s


def _point_config(config: ScalingConfig, named: NamedPotential, point: ScalingPoint, directory: Path) -> dict:
    return {
        "output_dir": str(directory),
        "seed": config.seed,
        "potential": named.potential.model_dump(mode="json", exclude_none=True),
        "structure": config.structure.model_dump(mode="json", exclude_none=True),
        "speed": {**config.timing.model_dump(mode="json"), "sizes_atoms": [point.target_atoms]},
    }


def run_point(config: ScalingConfig, named: NamedPotential, point: ScalingPoint, directory: Path) -> ScalingPoint:
    """Launch one point as its own job and read back what it measured (never raises for a failed job)."""
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "speed.yaml"
    config_path.write_text(yaml.safe_dump(_point_config(config, named, point, directory), sort_keys=False))
    words = config.launcher.words(point.ranks) + simkit_command("speed", str(config_path))
    outcome = run_job(words, cwd=directory, timeout_s=config.launcher.timeout_s, env=config.launcher.env)
    (directory / "job.out").write_text(outcome.stdout)
    (directory / "job.err").write_text(outcome.stderr)
    point.directory = str(directory)
    point.job_wall_s = outcome.wall_s
    result_path = directory / SPEED_JSON
    if not outcome.ok or not result_path.is_file():
        point.status = PointStatus.FAILED
        point.reason = outcome.reason() if not outcome.ok else f"{result_path} was not written"
        return point
    data = json.loads(result_path.read_text())
    (measured,) = data["points"]
    if measured["ranks"] != point.ranks:
        point.status = PointStatus.FAILED
        point.reason = f"the launcher started {measured['ranks']} ranks instead of {point.ranks}"
        return point
    point.status = PointStatus.OK
    point.natoms = measured["natoms"]
    point.atom_steps_per_s = measured["atom_steps_per_s"]["median"]
    point.atom_steps_per_s_min = measured["atom_steps_per_s"]["min"]
    point.atom_steps_per_s_max = measured["atom_steps_per_s"]["max"]
    point.lammps_atom_steps_per_s = measured["lammps_atom_steps_per_s"]["median"]
    point.loop_time_s = statistics.median(measured["lammps_loop_s"])
    point.sections_s = measured["sections_s"]
    return point


@dataclass
class ScalingResult:
    points: list[ScalingPoint]
    reference: str
    machine: dict
    lammps_version: int | None

    def rows(self) -> list[dict]:
        return [p.to_dict() for p in self.points]


def run_scaling(config: ScalingConfig, *, on_point=None) -> ScalingResult:
    """Run every planned point (one job each), then compute speed-ups, efficiencies and relative speeds."""
    out = Path(config.output_dir)
    by_name = {p.name: p for p in config.potentials}
    points = planned_points(config)
    machine, version = None, None
    for point in points:
        directory = out / "points" / f"{point.potential}-{point.mode}-{point.ranks}ranks"
        log.info("%s, %s scaling, %d ranks, >= %d atoms: launching", point.potential, point.mode, point.ranks,
                 point.target_atoms)
        run_point(config, by_name[point.potential], point, directory)
        if point.ok:
            log.info("  %.4g atom-steps/s (%d atoms)", point.atom_steps_per_s, point.natoms)
            if machine is None:
                data = json.loads((directory / SPEED_JSON).read_text())
                machine, version = data["machine"], data["lammps_version"]
        else:
            log.warning("  failed: %s", point.reason)
        if on_point is not None:
            on_point(point)
    compute_metrics(points, config.reference_name)
    if machine is None:
        machine = machine_info()
    return ScalingResult(points, config.reference_name, machine, version)
