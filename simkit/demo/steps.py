"""Steps of the demo: each one a folder, a generated config, a fingerprint and a marker.

A step's fingerprint hashes its resolved config and the content of the files
it reads from earlier steps (the dataset, the best potential, the trajectory).
``demo_step.json`` in the step's folder records the fingerprint when the step
starts and again, with ``done``, when it has finished. On the next run:

* done with the same fingerprint: reused, nothing runs;
* started with the same fingerprint (killed): resumed through the command's
  own resume (the optimiser's journal, ``simkit md --resume``);
* another fingerprint (the config or an upstream result changed): the folder
  is cleared and the step runs again, so stale results never mix with new ones.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import yaml

from simkit.config.loader import read_yaml, validate_config
from simkit.config.schema import Schema
from simkit.errors import RunFailed
from simkit.lammps.potentials.specs import PotentialSpec
from simkit.runtime.files import atomic_write_text
from simkit.runtime.hashing import sha256_file, sha256_json

log = logging.getLogger(__name__)

MARKER = "demo_step.json"
# Each step's folder in the demo's output folder, and the report's: the runner writes them, the report reads them.
REPORT_DIR = "report"
FOLDERS = {"data": "01-data", "snap": "02-optimise-snap", "ace": "03-optimise-ace", "refine": "04-refine",
           "validation": "05-validation", "cycle": "06-device-cycle", "analysis": "07-analysis"}
REUSED, RESUMED, RAN = "reused", "resumed", "ran"


class StepFailed(RunFailed):
    """A step's command exited with an error; its folder keeps what it wrote."""


def fingerprint(config: dict[str, Any], inputs: list[Path]) -> str:
    """Hash of a step's resolved config and of the content of the files it reads."""
    return sha256_json({"config": config, "inputs": {str(p): sha256_file(p) for p in sorted(inputs)}})


def write_yaml(data: dict[str, Any], path: Path, header: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"# {line}\n" for line in header.splitlines())
    path.write_text(text + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110))
    return path


def simkit_command(*args: str) -> list[str]:
    """The simkit CLI of this interpreter (the demo's steps run the same commands a user would)."""
    return [sys.executable, "-m", "simkit.cli.main", *args]


@dataclass
class Step:
    """One step: ``execute(resume)`` produces ``outputs`` in ``folder`` from ``config`` and ``inputs``."""

    name: str
    title: str
    folder: Path
    config: dict[str, Any]
    inputs: list[Path]
    outputs: list[Path]
    execute: Callable[[bool], None]
    info: dict[str, Any] = field(default_factory=dict)

    def _marker(self) -> dict[str, Any] | None:
        path = self.folder / MARKER
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def _write_marker(self, fp: str, status: str, **extra: Any) -> None:
        record = {"step": self.name, "fingerprint": fp, "status": status,
                  "time": datetime.now(timezone.utc).isoformat(timespec="seconds"), **extra}
        atomic_write_text(self.folder / MARKER, json.dumps(record, indent=2) + "\n")

    def run(self) -> tuple[str, float]:
        """Run, resume or reuse the step; returns (what happened, wall seconds of the run that made the result)."""
        fp = fingerprint(self.config, self.inputs)
        marker = self._marker()
        if marker and marker.get("fingerprint") == fp and marker.get("status") == "done" \
                and all(p.exists() for p in self.outputs):
            log.info("[%s] reused: finished earlier with the same config and inputs (%s)", self.name, self.folder)
            return REUSED, float(marker.get("wall_s", 0.0))
        resume = bool(marker and marker.get("fingerprint") == fp)
        if marker and not resume:
            log.info("[%s] config or inputs changed since the last run: clearing %s", self.name, self.folder)
        if not resume and self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._write_marker(fp, "started")
        log.info("[%s] %s %s", self.name, "resuming:" if resume else "running:", self.title)
        start = time.perf_counter()
        self.execute(resume)
        wall = time.perf_counter() - start
        missing = [str(p) for p in self.outputs if not p.exists()]
        if missing:
            raise StepFailed(f"demo step {self.name!r} finished without writing {', '.join(missing)}")
        self._write_marker(fp, "done", wall_s=round(wall, 1))
        return (RESUMED if resume else RAN), wall


def run_command(step_name: str, command: list[str], log_path: Path, cwd: Path) -> None:
    """Run one command; its output goes to the terminal (progress bars) and stays in ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log.debug("[%s] %s", step_name, " ".join(command))
    with open(log_path, "ab") as handle:
        handle.write(f"$ {' '.join(command)}\n".encode())
        handle.flush()
        with subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as process:
            assert process.stdout is not None
            for chunk in iter(lambda: process.stdout.read1(4096), b""):
                handle.write(chunk)
                sys.stderr.buffer.write(chunk)
                sys.stderr.buffer.flush()
            code = process.wait()
    if code != 0:
        raise StepFailed(f"demo step {step_name!r}: '{' '.join(command[:6])} ...' exited with code {code}; "
                         f"its output is in {log_path}; fix the cause and run the demo again to continue")


class PotentialHolder(Schema):
    """A potential spec validated on its own (its paths resolved against a folder)."""

    potential: PotentialSpec


def read_potential_file(path: Path) -> dict[str, Any]:
    """A fit's or refit's ``potential.yaml``, validated, with absolute paths, as JSON data."""
    holder = validate_config(PotentialHolder, {"potential": read_yaml(path)}, source=str(path), base_dir=path.parent)
    return holder.model_dump(mode="json")["potential"]
