"""The ``rescale_volume`` stage: scale the system to the mean volume of the end of an earlier NPT stage.

The volumes come from the run's own ``thermo.csv``: a resumed run cuts that
table back to its checkpoint, so the rows averaged are the same whether or
not the run was interrupted, and no extra checkpoint state is needed.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from simkit.errors import InputDataError, RunFailed
from simkit.lammps.box import scale_to_volume, volume_A3
from simkit.lammps.session import LammpsSession
from simkit.runtime.mpi import on_root


def mean_volume_A3(thermo_csv: Path, label: str, begin_step: int, end_step: int, last_fraction: float
                   ) -> tuple[float, int]:
    """(mean ``volume_A3``, rows averaged) of the rows of stage ``label`` in its last ``last_fraction``."""
    # At least one step, so the row every segment records at its end always counts.
    after = end_step - max(1, round(last_fraction * (end_step - begin_step)))
    volumes = []
    try:
        with Path(thermo_csv).open(newline="") as handle:
            for row in csv.DictReader(handle):
                if row["stage"] == label and after < int(row["step"]) <= end_step:
                    volumes.append(float(row["volume_A3"]))
    except (OSError, KeyError, ValueError) as exc:
        raise InputDataError(f"{thermo_csv}: cannot read the volumes of stage {label}: {exc}") from exc
    if not volumes:
        raise RunFailed(f"{thermo_csv}: no thermo row of stage {label} between steps {after} and {end_step} "
                        "to average the volume of")
    return float(np.mean(volumes)), len(volumes)


def rescale_volume(session: LammpsSession, comm, stage, thermo_csv: Path, segment_records: list[dict]) -> dict:
    """Scale cell and positions (velocities kept) to the stage's mean volume; returns the segment record."""
    source = [r for r in segment_records if r["label"] == stage.average_of][-1]  # the plan checked it exists
    begin, end = int(source["begin_step"]), int(source["end_step"])
    # Rank 0 writes the table, so rank 0 reads it; every rank must scale to the same volume.
    mean, rows = on_root(comm, lambda: mean_volume_A3(thermo_csv, stage.average_of, begin, end,
                                                      stage.last_fraction))
    before = volume_A3(session)
    factor = scale_to_volume(session, mean)
    return {"average_of": stage.average_of, "last_fraction": stage.last_fraction, "rows_averaged": rows,
            "volume_before_A3": before, "volume_A3": mean, "scale_factor": factor}
