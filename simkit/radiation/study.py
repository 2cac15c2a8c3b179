"""A study's run directory: its config on record, a fresh start, a resume, or a refusal.

``study.json`` holds the config the results were made with. A fresh run into
a directory holding results is refused (``--resume`` continues it,
``--overwrite`` starts again); a resume with a config that differs in
anything but ``workers`` or ``output_dir`` is refused with the keys named,
because its results would mix two studies.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from simkit.config.schema import Schema
from simkit.errors import ConfigError
from simkit.runtime.documents import differences
from simkit.runtime.files import atomic_write_text
from simkit.runtime.mpi import on_root

STUDY_JSON = "study.json"
RESULTS = "results"
STATES = "states"
_FREE_KEYS = ("workers", "output_dir")


def _document(command: str, config: Schema) -> dict:
    data = json.loads(config.model_dump_json())
    for key in _FREE_KEYS:
        data.pop(key, None)
    return {"command": command, "config": data}


def _prepare(out: Path, command: str, config: Schema, resume: bool, overwrite: bool) -> None:
    record = out / STUDY_JSON
    results = out / RESULTS
    finished = len(list(results.glob("*.json"))) if results.is_dir() else 0
    if record.is_file() and resume:
        try:
            old = json.loads(record.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{record}: unreadable ({exc}); start again with --overwrite") from exc
        changed = differences(old, _document(command, config))
        if changed:
            raise ConfigError(f"{out}: --resume with a config that differs from the study's in "
                              f"{', '.join(changed)}; use the same config, or --overwrite")
        return
    if finished and not overwrite:
        raise ConfigError(f"{out} holds a {command} study with {finished} finished task(s): "
                          "continue it with --resume, or start again with --overwrite")
    for name in (RESULTS, STATES):
        shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(record, json.dumps(_document(command, config), indent=1) + "\n")


def open_study(out: Path, command: str, config: Schema, *, resume: bool, overwrite: bool, comm=None) -> Path:
    """Check and record the study in ``out`` (rank 0; every rank gets the verdict); returns the results dir."""
    if resume and overwrite:
        raise ConfigError("give --resume or --overwrite, not both")
    on_root(comm, lambda: _prepare(Path(out), command, config, resume, overwrite))
    return Path(out) / RESULTS
