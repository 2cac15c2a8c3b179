"""Every run describes itself in ``run_summary.json``.

The summary holds the command line, the resolved config, versions of simkit and
the codes it drives, seeds, SHA-256 of inputs and potentials, the MPI launch,
start/end time, status, and the outputs written. It is written when the run
starts (status ``running``) and rewritten when it ends, so a killed run still
leaves a record of what it was doing. Only rank 0 writes.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Any, Iterable, Protocol

from pydantic import BaseModel

from simkit.errors import StopRequested
from simkit.runtime.documents import utc_now
from simkit.runtime.files import atomic_write_text
from simkit.runtime.hashing import sha256_file
from simkit.runtime.mpi import launcher_record
from simkit.runtime.outputs import RUN_SUMMARY
from simkit.runtime.versions import package_versions


class RunStatus(StrEnum):
    """``status`` in run_summary.json."""

    RUNNING = "running"  # also what a killed run leaves behind
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # Ctrl-C
    STOPPED = "stopped"  # stopped on request at a checkpoint (e.g. simkit md --stop-after-steps); resumable


class Described(Protocol):
    """What a run record needs of a potential (any backend): a JSON-able description with file hashes."""

    def describe(self) -> dict: ...


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class RunRecord:
    """Context manager that writes the run summary into ``output_dir``."""

    def __init__(
        self,
        command: str,
        output_dir: Path,
        config: BaseModel | dict | None = None,
        *,
        rank: int = 0,
        mpi_size: int = 1,
        seeds: dict[str, int] | None = None,
        inputs: Iterable[Path] = (),
        potentials: Iterable[Described] = (),
    ):
        self.path = Path(output_dir) / RUN_SUMMARY
        self.rank = rank
        self._start = time.perf_counter()
        self.data: dict[str, Any] = {
            "command": command,
            "argv": sys.argv,
            "status": RunStatus.RUNNING,
            "started": utc_now(),
            "finished": None,
            "wall_time_s": None,
            "host": socket.gethostname(),
            "mpi": {
                "ranks": mpi_size,
                "launcher_env": launcher_record(),
            },
            "versions": package_versions(),
            "config": _jsonable(config),
            "seeds": dict(seeds or {}),
            "inputs": [{"path": str(Path(p).resolve()), "sha256": sha256_file(p)} for p in inputs],
            "potentials": [p.describe() for p in potentials],
            "outputs": {},
            "results": {},
            "error": None,
        }

    def add_output(self, name: str, path: Path) -> None:
        self.data["outputs"][name] = str(path)

    def add_result(self, name: str, value: Any) -> None:
        self.data["results"][name] = _jsonable(value)

    def write(self) -> None:
        if self.rank != 0:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Readers never see a half-written summary, nor does a crash leave one.
        atomic_write_text(self.path, json.dumps(self.data, indent=2, default=str) + "\n")

    def __enter__(self) -> "RunRecord":
        self.write()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.data["finished"] = utc_now()
        self.data["wall_time_s"] = round(time.perf_counter() - self._start, 3)
        if exc is None:
            self.data["status"] = RunStatus.FINISHED
        elif isinstance(exc, StopRequested):
            self.data["status"] = RunStatus.STOPPED
            self.data["stopped"] = str(exc)
        else:
            self.data["status"] = RunStatus.INTERRUPTED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
            self.data["error"] = f"{type(exc).__name__}: {exc}"
        self.write()
