"""Time series of an MD run as CSV tables (units in the headers), continued across resumes.

Rank 0 writes; every rank counts rows so checkpoints agree on where the table
stood. A resumed run reopens a table keeping only the rows that existed when
the checkpoint was written and appends after them, so the table of a resumed
run reads like that of an uninterrupted one.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Sequence

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
        with self.path.open(newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            rows = [row for _, row in zip(range(keep), reader)]
        if header != self.header:
            raise InputDataError(f"{self.path}: cannot resume: its columns differ from this protocol's")
        if len(rows) < keep:
            raise InputDataError(f"{self.path}: cannot resume: {len(rows)} rows, the checkpoint expects {keep}")
        partial = self.path.with_name(self.path.name + ".partial")
        with partial.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(self.header)
            writer.writerows(rows)
        replace_durably(partial, self.path)

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
        with open(self.path, newline="") as handle:
            rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
        if not rows:
            return {}
        return {k: v if k == "stage" else (int(float(v)) if k == "step" else float(v)) for k, v in rows[-1].items()}


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
