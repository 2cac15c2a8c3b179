"""Time series of an MD run as CSV tables (units in the headers), continued across resumes.

Rank 0 writes; every rank counts rows so checkpoints agree on where the table
stood. A resumed run reopens a table keeping only the rows that existed when
the checkpoint was written and appends after them, so the table of a resumed
run reads like that of an uninterrupted one.
"""

from __future__ import annotations

import csv
import math
from collections import deque
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from simkit.errors import InputDataError, RunFailed
from simkit.lammps.observables import Column
from simkit.runtime.files import replace_durably

# (column, thermo keyword) of the basic thermo line every run records.
BASIC_THERMO = (
    ("step", "step"),
    ("time_ps", "time"),
    ("temperature_K", "temp"),
    ("potential_energy_eV", "pe"),
    ("kinetic_energy_eV", "ke"),
    ("total_energy_eV", "etotal"),
    ("pressure_bar", "press"),
    ("volume_A3", "vol"),
)
_RESTORE = "restore the table from a backup, or start the run again with --overwrite"
PROFILE_COLUMNS = (
    "stage", "step", "time_ps", "bin", "z_A", "atoms", "temperature_K", "potential_energy_eV_per_atom",
    "crystalline_fraction",
)


class CsvTable:
    """A CSV file of rows; ``keep_rows`` reopens an existing file keeping its first rows."""

    def __init__(self, path: Path, header: Sequence[str], rank: int, keep_rows: int | None = None):
        self.path = Path(path)
        self.header = list(header)
        self.rank = rank
        self.rows = 0 if keep_rows is None else int(keep_rows)
        if rank != 0:
            return
        if keep_rows is None:
            with self.path.open("w", newline="") as handle:
                csv.writer(handle).writerow(self.header)
            return
        self._truncate(int(keep_rows))

    def _truncate(self, keep: int) -> None:
        if not self.path.is_file():
            raise InputDataError(f"{self.path}: cannot resume: the table is missing")
        rows: list[list[str]] = []
        for line, row in self.read_rows("cannot resume"):  # started even for keep == 0: the header is checked
            if len(rows) == keep:
                break
            if len(row) != len(self.header):
                raise InputDataError(f"{self.path}: cannot resume (line {line}): {len(row)} fields, the header has "
                                     f"{len(self.header)} (a cut or garbled row); {_RESTORE}")
            rows.append(row)
        if len(rows) < keep:
            raise InputDataError(f"{self.path}: cannot resume: {len(rows)} rows, the checkpoint expects {keep}")
        partial = self.path.with_name(self.path.name + ".partial")
        with partial.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.header)
            writer.writerows(rows)
        replace_durably(partial, self.path)

    def read_rows(self, purpose: str) -> Iterator[tuple[int, list[str]]]:
        """(line number, fields) of each row of the file after its header. A file that is not this table
        (other columns, bytes that are not UTF-8, broken quoting) is refused naming it and ``purpose``."""
        try:
            with self.path.open(newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                header = next(reader, None)
                if header != self.header:
                    raise InputDataError(f"{self.path}: {purpose}: its columns differ from this protocol's")
                for row in reader:
                    yield reader.line_num, row
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InputDataError(f"{self.path}: {purpose}: not a readable CSV table ({exc})") from exc

    def append_rows(self, rows: Sequence[Sequence]) -> None:
        self.rows += len(rows)
        if self.rank == 0:
            with self.path.open("a", newline="") as handle:
                csv.writer(handle).writerows(rows)


class ThermoTable:
    """The thermo time series: stage label, basic thermo, then the run's observable columns."""

    def __init__(self, path: Path, columns: Sequence[Column], rank: int, keep_rows: int | None = None):
        self.columns = tuple(columns)
        header = ["stage", *(name for name, _ in BASIC_THERMO), *(c.name for c in self.columns)]
        self.table = CsvTable(path, header, rank, keep_rows)
        self.last: dict[str, float | str] = {}

    @property
    def rows(self) -> int:
        return self.table.rows

    @property
    def path(self) -> Path:
        return self.table.path

    def row(self, stage: str, thermo: dict[str, float]) -> dict[str, float | str]:
        """The named values of one thermo reading; refuses non-finite values."""
        row: dict[str, float | str] = {"stage": stage}
        row.update({name: float(thermo[key]) for name, key in BASIC_THERMO})
        row.update({c.name: float(thermo[c.keyword]) for c in self.columns})
        row["step"] = int(row["step"])
        bad = [k for k, v in row.items() if k != "stage" and not math.isfinite(float(v))]
        if bad:
            raise RunFailed(f"stage {stage}: non-finite {', '.join(bad)} at step {row['step']} (unstable run?)")
        return row

    def append(self, stage: str, thermo: dict[str, float]) -> dict[str, float | str]:
        row = self.row(stage, thermo)
        self.table.append_rows([[row[name] for name in self.table.header]])
        self.last = row
        return row

    def final(self) -> dict[str, float | str]:
        """The last row: this attempt's, or the file's when this attempt wrote none (a run resumed only to
        write its final outputs). Empty on ranks other than 0, which do not write the file."""
        if self.last or self.table.rank != 0 or not self.path.is_file():
            return self.last
        purpose = "cannot read the run's final thermo row"
        last = deque(self.table.read_rows(purpose), maxlen=1)  # the table may hold millions of rows
        if not last:
            return {}
        line, fields = last[0]
        where = f"{self.path}: {purpose} (line {line})"
        header = self.table.header
        if len(fields) != len(header):
            raise InputDataError(f"{where}: {len(fields)} fields, the header has {len(header)} (a cut or garbled "
                                 f"row); {_RESTORE}")
        row: dict[str, float | str] = {}
        for name, text in zip(header, fields):
            if name == "stage":
                row[name] = text
                continue
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            expected = "a whole number of steps" if name == "step" else "a finite number"
            if not math.isfinite(value) or (name == "step" and not (value >= 0 and value.is_integer())):
                raise InputDataError(f"{where}: '{name}' = {text!r} is not {expected}; {_RESTORE}")
            row[name] = int(value) if name == "step" else value
        return row


class ProfileTable:
    """z-profiles in long format: one row per bin per profile."""

    def __init__(self, path: Path, rank: int, keep_rows: int | None = None):
        self.table = CsvTable(path, PROFILE_COLUMNS, rank, keep_rows)

    @property
    def rows(self) -> int:
        return self.table.rows

    def append(self, stage: str, step: int, time_ps: float, profile: dict[str, np.ndarray]) -> None:
        crystalline = profile.get("crystalline_fraction")
        rows = []
        for i in range(len(profile["z_A"])):
            rows.append([
                stage, step, time_ps, i, float(profile["z_A"][i]), int(round(profile["atoms"][i])),
                float(profile["temperature_K"][i]), float(profile["potential_energy_eV_per_atom"][i]),
                "" if crystalline is None else float(crystalline[i]),
            ])
        self.table.append_rows(rows)
