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
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from simkit.config.loader import validate_config
from simkit.drivers.md.protocol import MdProtocol
from simkit.errors import ConfigError, InputDataError
from simkit.lammps.potentials.base import Potential
from simkit.runtime.documents import first_difference
from simkit.runtime.files import atomic_write_text
from simkit.runtime.hashing import sha256_file, sha256_json
from simkit.runtime.provenance import RunStatus

CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "state.json"
PROTOCOL_FILE = "protocol.json"


def protocol_data(protocol: MdProtocol, potential: Potential) -> dict[str, Any]:
    """What defines the physics of a run: the resolved protocol (not where it writes) and input file hashes."""
    # A key added later is left out while unset, so runs started before it existed still resume.
    unset = {"trajectory_species"} if protocol.trajectory_species is None else set()
    if protocol.max_temperature_K == "auto":
        unset.add("max_temperature_K")
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
            return _checked_state(raw)
        except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise InputDataError(f"{path}: unreadable checkpoint record: {exc}; restore it from a backup, or start "
                                 "the run again with --overwrite") from exc

    def save(self, output_dir: Path, rank: int) -> None:
        if rank != 0:
            return
        folder = self.folder(output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / STATE_FILE, json.dumps(asdict(self), indent=2) + "\n")


# Steps are int64 in LAMMPS and in the H5MD step datasets.
_MAX_STEP = 2**62


def _count(record: dict, key: str, *, optional: bool = False, low: int = 0) -> int | None:
    value = record.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value < _MAX_STEP:
        raise ValueError(f"'{key}' must be an integer in [{low}, 2^62), got {value!r}")
    return value


def _number(record: dict, key: str, *, optional: bool = False) -> float | None:
    value = record.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"'{key}' must be a finite number, got {value!r}")
    return float(value)


def _checked_checkpoint(raw: Any) -> Checkpoint:
    if not isinstance(raw, dict):
        raise ValueError(f"'checkpoint' must be a mapping, got {type(raw).__name__}")
    unknown = set(raw) - {f.name for f in fields(Checkpoint)}
    if unknown:
        raise ValueError(f"unknown key(s) in 'checkpoint': {sorted(unknown)}")
    name = raw.get("restart_file")
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"'restart_file' must be a file name inside the checkpoint folder, got {name!r}")
    begin = _count(raw, "segment_begin_step")
    step = _count(raw, "step", low=begin)
    last = _count(raw, "last_observable_step", optional=True)
    if last is not None and last > step:
        raise ValueError(f"'last_observable_step' {last} is after the checkpoint's step {step}")
    if not isinstance(raw.get("segment_complete"), bool):
        raise ValueError(f"'segment_complete' must be true or false, got {raw.get('segment_complete')!r}")
    records = raw.get("segment_records", [])
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError("'segment_records' must be a list of mappings")
    time_ps = _number(raw, "segment_begin_time_ps")
    if time_ps < 0:
        raise ValueError(f"'segment_begin_time_ps' must not be negative, got {time_ps}")
    return Checkpoint(
        restart_file=name, segment=_count(raw, "segment"), segment_begin_step=begin, segment_begin_time_ps=time_ps,
        step=step, segment_complete=raw["segment_complete"], thermo_rows=_count(raw, "thermo_rows"),
        profile_rows=_count(raw, "profile_rows"), last_observable_step=last,
        flux_start_total_eV=_number(raw, "flux_start_total_eV", optional=True), segment_records=records,
        written=str(raw.get("written", "")),
    )


def _checked_state(raw: Any) -> RunState:
    """A RunState from parsed JSON, every field's type and range checked (a damaged file must not resume)."""
    if not isinstance(raw, dict):
        raise ValueError(f"expected a mapping, got {type(raw).__name__}")
    digest = raw.get("protocol_sha256")
    if not isinstance(digest, str) or len(digest) != 64:
        raise ValueError(f"'protocol_sha256' must be a SHA-256 hex digest, got {digest!r}")
    attempts = raw.get("attempts", [])
    if not isinstance(attempts, list) or not all(isinstance(a, dict) for a in attempts):
        raise ValueError("'attempts' must be a list of mappings")
    finished = raw.get("finished", False)
    if not isinstance(finished, bool):
        raise ValueError(f"'finished' must be true or false, got {finished!r}")
    checkpoint = raw.get("checkpoint")
    return RunState(digest, None if checkpoint is None else _checked_checkpoint(checkpoint), finished, attempts)


def check_checkpoint_in_plan(checkpoint: Checkpoint, segment_steps: list[int], path: Path) -> None:
    """Refuse a checkpoint that names a segment or step the protocol does not have (a damaged state.json)."""
    problem = None
    if checkpoint.segment >= len(segment_steps):
        problem = f"segment {checkpoint.segment}, but the protocol has {len(segment_steps)}"
    elif checkpoint.step - checkpoint.segment_begin_step > segment_steps[checkpoint.segment]:
        problem = (f"step {checkpoint.step}, {checkpoint.step - checkpoint.segment_begin_step} steps into segment "
                   f"{checkpoint.segment}, which has {segment_steps[checkpoint.segment]}")
    elif len(checkpoint.segment_records) > checkpoint.segment + 1:
        problem = f"{len(checkpoint.segment_records)} finished segments before segment {checkpoint.segment}"
    if problem:
        raise InputDataError(f"{path}: unreadable checkpoint record: it names {problem}; restore it from a backup, "
                             "or start the run again with --overwrite")


def summary_says_finished(path: Path) -> bool:
    """Whether a run_summary.json records a finished run. The state file says finished after the last step,
    before the final outputs are written, so a kill in between leaves a summary that still says running."""
    try:
        return json.loads(Path(path).read_text()).get("status") == RunStatus.FINISHED
    except (OSError, ValueError, AttributeError):  # missing, unreadable or not a mapping: not finished
        return False


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
