"""Where a run stands: the checkpoint record beside the restart files, and the protocol it belongs to.

``<output_dir>/checkpoints/state.json`` names the last complete restart file,
the segment and step it belongs to (and the segment's first step, so ramps
resume with the same start and stop), how many rows the CSV tables had, the
records of the segments already finished, and a fingerprint of the protocol.
It is replaced atomically and durably, and only after its restart file is
complete and on disk, so it always describes a checkpoint that exists.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simkit.config.loader import validate_config
from simkit.drivers.md.protocol import MdProtocol
from simkit.errors import ConfigError, InputDataError
from simkit.lammps.potentials.base import Potential
from simkit.runtime.documents import first_difference
from simkit.runtime.files import atomic_write_text
from simkit.runtime.hashing import sha256_file, sha256_json

CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "state.json"
PROTOCOL_FILE = "protocol.json"


def protocol_data(protocol: MdProtocol, potential: Potential) -> dict[str, Any]:
    """What defines the physics of a run: the resolved protocol (not where it writes) and input file hashes."""
    # A key added later is left out while unset, so runs started before it existed still resume.
    unset = {"trajectory_species"} if protocol.trajectory_species is None else set()
    data = protocol.model_dump(mode="json", exclude={"output_dir", *unset})
    files = {str(p): sha256_file(p) for p in potential.files()}
    structure = protocol.structure if protocol.structure is not None else protocol.device.crystal
    if structure.file is not None:
        files[str(structure.file)] = sha256_file(structure.file)
    return {"protocol": data, "input_sha256": files}


def fingerprint(data: dict[str, Any]) -> str:
    return sha256_json(data)


@dataclass
class Checkpoint:
    """One complete checkpoint."""

    restart_file: str  # name inside the checkpoint folder
    segment: int
    segment_begin_step: int
    segment_begin_time_ps: float
    step: int
    segment_complete: bool
    thermo_rows: int
    profile_rows: int
    last_observable_step: int | None = None  # last step in the HDF5 time series
    flux_start_total_eV: float | None = None  # total energy when the current pulse began
    segment_records: list[dict] = field(default_factory=list)  # finished segments
    written: str = ""


@dataclass
class RunState:
    """The contents of state.json (rank 0 writes it)."""

    protocol_sha256: str
    checkpoint: Checkpoint | None = None
    finished: bool = False
    attempts: list[dict] = field(default_factory=list)

    @staticmethod
    def folder(output_dir: Path) -> Path:
        return Path(output_dir) / CHECKPOINT_DIR

    @classmethod
    def load(cls, output_dir: Path) -> "RunState | None":
        path = cls.folder(output_dir) / STATE_FILE
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text())
            checkpoint = Checkpoint(**raw["checkpoint"]) if raw.get("checkpoint") else None
            return cls(raw["protocol_sha256"], checkpoint, bool(raw.get("finished")), list(raw.get("attempts", [])))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputDataError(f"{path}: unreadable checkpoint record: {exc}") from exc

    def save(self, output_dir: Path, rank: int) -> None:
        if rank != 0:
            return
        folder = self.folder(output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / STATE_FILE, json.dumps(asdict(self), indent=2) + "\n")


def save_protocol(output_dir: Path, data: dict[str, Any], rank: int) -> None:
    """Keep the fingerprinted protocol beside the checkpoints (to name what changed on a refused resume)."""
    if rank != 0:
        return
    folder = RunState.folder(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / PROTOCOL_FILE, json.dumps(data, indent=2, sort_keys=True) + "\n")


def check_same_protocol(output_dir: Path, state: RunState, data: dict[str, Any], source: str) -> None:
    """Refuse to resume a run whose protocol or input files changed, naming the first changed key."""
    if state.protocol_sha256 == fingerprint(data):
        return
    saved = RunState.folder(output_dir) / PROTOCOL_FILE
    where = first_difference(read_saved_protocol(saved), data) if saved.is_file() else None
    detail = f" (first difference: '{where}')" if where else ""
    raise ConfigError(
        f"{source}: cannot resume the run in {output_dir}: the protocol or its input files changed since it "
        f"started{detail}; restore them, or start a new run in another output_dir"
    )


def read_saved_protocol(path: Path) -> dict[str, Any]:
    """The content of a protocol.json written by :func:`save_protocol`; a damaged one is refused by name."""
    try:
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict) or not isinstance(data.get("protocol"), dict):
            raise ValueError("expected a mapping with a 'protocol' mapping")
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InputDataError(f"{path}: unreadable protocol record: {exc}") from exc
    return data


def saved_protocol(run_dir: Path) -> MdProtocol:
    """The protocol a run directory was started with (to resume it without its YAML file)."""
    path = RunState.folder(run_dir) / PROTOCOL_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir}: not a simkit md run directory (no {CHECKPOINT_DIR}/{PROTOCOL_FILE})")
    data = read_saved_protocol(path)["protocol"]
    data["output_dir"] = str(Path(run_dir).resolve())
    return validate_config(MdProtocol, data, source=str(path), base_dir=Path(run_dir))
