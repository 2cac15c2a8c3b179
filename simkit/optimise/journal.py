"""The durable record of an optimisation: one SQLite row per candidate, written as it happens.

A row is inserted (status ``running``) when a candidate is handed out and
updated in one transaction the moment it finishes, with its hyperparameters,
errors, speed, survival, timings, status, the value told to the optimiser and
its artefact paths. The database runs in WAL mode with full synchronisation, so
a process killed at any instant leaves every committed row intact; rows still
``running`` when a session starts belonged to a killed session and become
``lost``. The journal is the record: resuming replays its told points into a
fresh optimiser. ``meta`` holds the run's definition (search space, fit,
objective, stages, seed) and its fingerprint; a run directory refuses a
different definition.
"""

from __future__ import annotations

import json
import math
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from simkit.errors import ConfigError, InputDataError
from simkit.optimise.evaluate import CandidateOutcome
from simkit.optimise.objective import FINISHED_STATES, CandidateStatus
from simkit.runtime.documents import differences, utc_now
from simkit.runtime.locks import FileLock

JOURNAL_FILE = "journal.sqlite"
LOCK_FILE = ".optimise.lock"
FORMAT_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS candidates (
    id INTEGER PRIMARY KEY,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    initial_index INTEGER,
    point TEXT NOT NULL,
    params TEXT NOT NULL,
    workdir TEXT NOT NULL,
    dispatched_at TEXT NOT NULL,
    finished_at TEXT,
    tell_order INTEGER UNIQUE,
    told_value REAL,
    penalised INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    objective REAL,
    lower_bound REAL,
    loss REAL,
    speed_per_core REAL,
    relative_speed REAL,
    cost REAL,
    survival REAL,
    survival_max REAL,
    outcome TEXT
);
"""


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class Journal:
    """The run directory's journal; only one process (world rank 0) opens it for writing."""

    def __init__(self, run_dir: Path, *, lock: bool = True):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / JOURNAL_FILE
        # Its own lock besides the run directory's: one journal writer, even within one process.
        self._lock = FileLock(self.run_dir / LOCK_FILE)
        if lock and not self._lock.acquire(wait=False):
            raise ConfigError(f"{self.run_dir}: another simkit optimise is running in this directory")
        try:
            with self._readable():
                # One writer thread at a time (the coordinator); it may not be the thread that opened it.
                self._db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None, check_same_thread=False)
                self._db.row_factory = sqlite3.Row
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                verdict = self._db.execute("PRAGMA quick_check").fetchone()[0]
                if verdict != "ok":
                    raise sqlite3.DatabaseError(f"integrity check: {verdict}")
                self._db.executescript(_SCHEMA)
        except InputDataError:
            self._lock.release()
            raise

    @contextmanager
    def _readable(self):
        """A damaged journal (not SQLite, failing its integrity check, or holding rows that are not JSON) is
        refused by name: resuming from it would replay made-up points."""
        try:
            yield
        except (sqlite3.DatabaseError, ValueError, TypeError) as exc:
            raise InputDataError(f"{self.path}: damaged optimisation journal: {exc}; restore it from a backup, "
                                 "or start a new run in another output_dir") from exc

    def close(self) -> None:
        self._db.close()
        self._lock.release()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _transaction(self):
        return _Transaction(self._db)

    # -- definition ------------------------------------------------------------------
    def meta(self, key: str) -> Any:
        with self._readable():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return None if row is None else json.loads(row["value"])

    def set_meta(self, key: str, value: Any) -> None:
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def adopt_definition(self, definition: dict, fingerprint: str) -> bool:
        """Store the run's definition, or check that it matches the stored one; True for a new run."""
        stored = self.meta("fingerprint")
        if stored is None:
            with self._transaction():
                for key, value in (("format_version", FORMAT_VERSION), ("fingerprint", fingerprint),
                                   ("definition", definition), ("created", utc_now())):
                    self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))
            return True
        if stored != fingerprint:
            changed = ", ".join(differences(self.meta("definition") or {}, definition)[:6]) or "unknown keys"
            raise ConfigError(
                f"{self.run_dir}: this run directory holds an optimisation with a different search space or "
                f"settings (changed: {changed}); resume with the original config, or use a new output_dir"
            )
        return False

    # -- candidates -------------------------------------------------------------------
    def mark_lost(self) -> list[int]:
        """Rows left ``running`` by a killed session become ``lost``; returns their ids."""
        ids = [r["id"] for r in self._db.execute("SELECT id FROM candidates WHERE status = ?", (CandidateStatus.RUNNING,))]
        if ids:
            with self._transaction():
                self._db.execute("UPDATE candidates SET status = ?, reason = ? WHERE status = ?",
                                 (CandidateStatus.LOST, "running when a previous session ended", CandidateStatus.RUNNING))
        return ids

    def next_id(self) -> int:
        row = self._db.execute("SELECT MAX(id) AS m FROM candidates").fetchone()
        return 1 if row["m"] is None else int(row["m"]) + 1

    def dispatch(self, cid: int, point: list, params: dict, source: str, initial_index: int | None,
                 workdir: Path) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO candidates (id, status, source, initial_index, point, params, workdir, dispatched_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (cid, CandidateStatus.RUNNING, source, initial_index, json.dumps(point), json.dumps(params), str(workdir), utc_now()),
            )

    def finish(self, outcome: CandidateOutcome, told_value: float | None, penalised: bool) -> None:
        """Commit a finished candidate (one transaction); it is told to the optimiser in this order."""
        with self._transaction():
            order = None
            if told_value is not None:
                row = self._db.execute("SELECT MAX(tell_order) AS m FROM candidates").fetchone()
                order = 1 if row["m"] is None else int(row["m"]) + 1
            self._db.execute(
                "UPDATE candidates SET status = ?, finished_at = ?, tell_order = ?, told_value = ?, penalised = ?, "
                "reason = ?, objective = ?, lower_bound = ?, loss = ?, speed_per_core = ?, relative_speed = ?, "
                "cost = ?, survival = ?, survival_max = ?, outcome = ? WHERE id = ?",
                (outcome.status, utc_now(), order, told_value, int(penalised), outcome.reason,
                 _finite(outcome.objective), _finite(outcome.lower_bound), _finite(outcome.loss),
                 outcome.speed_per_core, outcome.relative_speed, outcome.cost, outcome.survival,
                 outcome.survival_max, json.dumps(outcome.to_dict(), default=str), outcome.id),
            )

    def rows(self) -> list[dict[str, Any]]:
        """Every candidate, by id, with JSON columns decoded."""
        rows = []
        with self._readable():
            for row in self._db.execute("SELECT * FROM candidates ORDER BY id"):
                item = dict(row)
                for key in ("point", "params", "outcome"):
                    item[key] = json.loads(item[key]) if item[key] is not None else None
                rows.append(item)
        return rows

    def finished(self) -> list[dict[str, Any]]:
        return [r for r in self.rows() if r["status"] in FINISHED_STATES]

    def told(self) -> list[tuple[list, float]]:
        """(point, value) pairs in the order they were told to the optimiser."""
        query = "SELECT point, told_value FROM candidates WHERE tell_order IS NOT NULL ORDER BY tell_order"
        with self._readable():
            return [(json.loads(r["point"]), float(r["told_value"])) for r in self._db.execute(query)]


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def read_rows(run_dir: Path) -> list[dict[str, Any]]:
    """The candidates of a run directory, read without taking its lock (safe while it runs)."""
    path = Path(run_dir) / JOURNAL_FILE
    if not path.is_file():
        raise ConfigError(f"{run_dir}: no optimisation journal ({JOURNAL_FILE}) here")
    with Journal(run_dir, lock=False) as journal:
        return journal.rows()
