"""The survival journal: one JSON line per finished replica, so that a killed screen resumes where it stopped.

``<output_dir>/survival_journal.jsonl`` starts with one line that describes the
screen, written atomically with the file: the format version, the config as run
(``simkit survive --resume RUN_DIR`` reads it back), the part of it that defines
the results together with the SHA-256 of every potential and input file, and the
fingerprint of that part. The process that collects results (the parent of the
worker processes, or rank 0) then appends one line per replica the moment it
survives or fails, flushed and fsynced; a last line marks a screen whose report
was written.

Replicas that were cancelled (early stop), could not start, or whose worker
process died are not journalled: a resume decides them again. A replica's result
depends only on the screen and its index (its velocity seed comes from the screen
seed and the index), so a resumed screen ends with the same replicas as an
uninterrupted one. A kill can tear only the last line: reading drops it, and a
resume cuts it off before it appends.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from simkit.config.loader import validate_config
from simkit.errors import ConfigError, InputDataError
from simkit.lammps.potentials.base import Potential
from simkit.runtime.documents import first_difference, utc_now
from simkit.runtime.files import append_durably, atomic_write_text, truncate_durably
from simkit.runtime.hashing import sha256_file, sha256_json
from simkit.screening.config import SurviveConfig
from simkit.screening.detection import FailureMode
from simkit.screening.replica import ReplicaResult, ReplicaStatus

log = logging.getLogger(__name__)

JOURNAL_FILE = "survival_journal.jsonl"
FORMAT_VERSION = 1
# Where and how a screen runs, not what it finds: a resume may change them.
_FREE_KEYS = {"output_dir", "workers", "replica_logs"}


class Record(StrEnum):
    """``record`` of a journal line."""

    SCREEN = "screen"  # the first line
    REPLICA = "replica"
    FINISHED = "finished"  # the report was written


def screen_definition(config: SurviveConfig, potential: Potential) -> dict[str, Any]:
    """What defines a screen's results: its config less where and how it runs, and its files' hashes."""
    files = [*potential.files(), *config.input_files()]
    return {
        "config": config.model_dump(mode="json", exclude=_FREE_KEYS),
        "input_sha256": {str(p): sha256_file(p) for p in files},
    }


def journalled(result: ReplicaResult) -> bool:
    """Whether a result is final: the replica survived, or the potential failed it (a dead worker is not)."""
    if result.status == ReplicaStatus.SURVIVED:
        return True
    return result.status == ReplicaStatus.FAILED and result.mode != FailureMode.WORKER_CRASH


def _line(entry: dict) -> str:
    # No indent: one record is one line. Floats round-trip exactly (NaN too), and anything not JSON
    # fails here rather than coming back as a string.
    return json.dumps(entry) + "\n"


@dataclass
class JournalContents:
    """What a journal holds: its first line, the replicas in it, and whether its screen finished."""

    header: dict
    results: list[ReplicaResult]
    finished: bool
    complete_bytes: int  # length of its whole lines; anything after them is a torn line
    torn: bool


def _parse(path: Path, number: int, line: bytes) -> dict:
    try:
        entry = json.loads(line)
        if not isinstance(entry, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InputDataError(f"{path}: line {number} is damaged ({exc}); a kill tears only the last line, so "
                             "the file was changed by hand: start the screen again with --overwrite") from exc
    return entry


def read_journal(path: Path) -> JournalContents:
    """The journal at ``path``, less a torn last line; a damaged line before it is refused by name."""
    path = Path(path)
    raw = path.read_bytes()
    complete = raw.rfind(b"\n") + 1
    lines = raw[:complete].split(b"\n")[:-1]
    if not lines:
        raise InputDataError(f"{path}: not a survival journal (no first line); start the screen again with "
                             "--overwrite")
    header = _parse(path, 1, lines[0])
    if header.get("record") != Record.SCREEN or header.get("format_version") != FORMAT_VERSION:
        raise InputDataError(f"{path}: not a survival journal of format {FORMAT_VERSION}; start the screen again "
                             "with --overwrite")
    results: dict[int, ReplicaResult] = {}
    finished = False
    for number, line in enumerate(lines[1:], start=2):
        entry = _parse(path, number, line)
        kind = entry.get("record")
        if kind == Record.FINISHED:
            finished = True
            continue
        if kind != Record.REPLICA:
            raise InputDataError(f"{path}: line {number} has an unknown record {kind!r}")
        try:
            result = ReplicaResult.from_dict(entry["result"])
        except (KeyError, TypeError) as exc:
            raise InputDataError(f"{path}: line {number} is not a replica result ({exc})") from exc
        # One writer appends each replica once; a second line for an index would be a copy: keep the first.
        if result.index in results:
            log.warning("%s: replica %d journalled twice (line %d); keeping the first", path, result.index, number)
            continue
        results[result.index] = result
        finished = False
    return JournalContents(header, sorted(results.values(), key=lambda r: r.index), finished, complete,
                           complete < len(raw))


def open_journal(out: Path, config: SurviveConfig, potential: Potential, *, resume: bool, overwrite: bool,
                 source: str) -> list[ReplicaResult]:
    """Ready ``out``'s journal for this session (one process only); returns the replicas journalled before.

    A fresh run starts a new journal, refusing one that holds an unfinished
    screen unless ``overwrite``; ``resume`` keeps the journal of the same screen
    (refusing another screen's, naming the first difference) and cuts off a torn
    last line.
    """
    path = Path(out) / JOURNAL_FILE
    definition = screen_definition(config, potential)
    total = config.survival.replica_count
    previous = read_journal(path) if path.is_file() and not overwrite else None
    if resume and previous is not None:
        _check_same_screen(previous.header, definition, out, source)
        if previous.torn:
            truncate_durably(path, previous.complete_bytes)
            log.info("%s: dropped a last line torn by a kill (its replica runs again)", path)
        log.info("resuming the screen in %s: %d of %d replicas journalled, %d to run", out, len(previous.results),
                 total, total - len(previous.results))
        return previous.results
    if resume:
        log.warning("no survival journal in %s: running the screen from the start", out)
    elif previous is not None and previous.results and not previous.finished:
        raise ConfigError(
            f"{source}: output_dir {out} holds an unfinished survival screen ({len(previous.results)} of {total} "
            "replicas journalled); continue it with --resume, or start again with --overwrite"
        )
    header = {"record": Record.SCREEN, "format_version": FORMAT_VERSION, "started": utc_now(), "replicas": total,
              "fingerprint": sha256_json(definition), "screen": definition,
              "config": config.model_dump(mode="json")}
    atomic_write_text(path, _line(header))
    return []


def _check_same_screen(header: dict, definition: dict, out: Path, source: str) -> None:
    """Refuse to resume a screen whose config or input files changed: its replicas would mix two screens."""
    if header.get("fingerprint") == sha256_json(definition):
        return
    where = first_difference(header.get("screen"), definition)
    detail = f" (first difference: '{where}')" if where else ""
    raise ConfigError(
        f"{source}: cannot resume the survival screen in {out}: the config or its input files changed since it "
        f"started{detail}; restore them, or start again with --overwrite"
    )


class ReplicaJournal:
    """Appends this screen's finished replicas to its journal (held by the process that collects results)."""

    def __init__(self, out: Path):
        self.path = Path(out) / JOURNAL_FILE

    def record(self, result: ReplicaResult) -> None:
        """Journal ``result`` now if it is final (see :func:`journalled`); others are left to a resume."""
        if journalled(result):
            append_durably(self.path, _line({"record": Record.REPLICA, "result": result.to_dict()}))

    def mark_finished(self) -> None:
        """After the report is written: a fresh run may then start this directory again without --overwrite."""
        append_durably(self.path, _line({"record": Record.FINISHED, "at": utc_now()}))


def saved_config(run_dir: Path) -> SurviveConfig:
    """The config a survival screen was started with (to resume it without its YAML file)."""
    path = Path(run_dir) / JOURNAL_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir}: not a simkit survive run directory (no {JOURNAL_FILE})")
    data = dict(read_journal(path).header.get("config") or {})
    data["output_dir"] = str(Path(run_dir).resolve())
    return validate_config(SurviveConfig, data, source=str(path), base_dir=Path(run_dir))
