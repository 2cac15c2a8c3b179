"""The cycle checked against the teacher: student and teacher energies and forces on frames of its trajectory.

A student can leave the configurations its training data covers and find a
low-energy structure the teacher does not have (a "hole"). Its MD then looks
healthy (no lost atoms, no blow-up, a steady temperature) while the structure
it builds is its own artefact: the heat the collapse releases, removed by a
global thermostat, even leaves the rest of the cell colder than the setpoint.
Errors on a fixed benchmark set and survival screens cannot see this; the
teacher's own energy on the student's frames can, so the demo asks it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydantic import Field

from simkit.analysis.output import new_figure, save_figure, write_csv
from simkit.config.schema import Schema
from simkit.distil.teachers import make_teacher
from simkit.errors import InputDataError
from simkit.io.h5md_reader import H5mdTrajectory
from simkit.lammps.session import evaluate_structures

AUDIT_FOLDER = "teacher_audit"
AUDIT_JSON = "teacher_audit.json"

# A teacher evaluation per frame; a thousand frames of a device cell is hours of teacher time, more is a typo.
MAX_FRAMES = 1000


class AuditSection(Schema):
    """How many frames of the cycle the teacher re-evaluates, and the energy difference taken as leaving its domain."""

    frames: int = Field(default=12, ge=2, le=MAX_FRAMES, description="frames spread evenly over the trajectory "
                        "(the first and the last always among them)")
    tolerance_meV_per_atom: float = Field(
        default=50.0, gt=0, description="|E_student - E_teacher| per atom above this on any frame fails the audit "
        "(a few times a good student's benchmark RMSE)")


def audit_frames(count: int, available: int) -> list[int]:
    """``count`` frame indices spread evenly over ``available`` frames, first and last included."""
    return sorted({int(round(x)) for x in np.linspace(0, available - 1, min(count, available))})


def _stage_at(time_ps: float, windows: dict[str, tuple[float, float]]) -> str:
    inside = [name for name, (begin, end) in windows.items() if begin <= time_ps <= end]
    return inside[-1] if inside else "-"


def audit_cycle(trajectory: Path, student, teacher_spec, windows: dict[str, tuple[float, float]],
                section: AuditSection, folder: Path) -> dict:
    """Evaluate student and teacher on frames of ``trajectory``; write the table, figure and verdict into ``folder``.

    ``student`` is the cycle's potential spec, ``teacher_spec`` the data step's teacher (a distil teacher spec).
    """
    with H5mdTrajectory(trajectory) as traj:
        if len(traj) == 0:
            raise InputDataError(f"{trajectory}: no frames to check against the teacher")
        indices = audit_frames(section.frames, len(traj))
        frames = [traj.frame(i, velocities=False, forces=False) for i in indices]
    structures = [frame.to_atoms() for frame in frames]
    labels = make_teacher(teacher_spec).label(structures)
    predictions = evaluate_structures(structures, student.build())
    rows = []
    for index, frame, label, prediction in zip(indices, frames, labels, predictions):
        n = frame.natoms
        difference = (prediction.energy_eV - label.energy_eV) / n * 1e3
        force_rmse = float(np.sqrt(np.mean((prediction.forces_eV_per_A - label.forces_eV_per_A) ** 2))) * 1e3
        rows.append({"frame": index, "time_ps": frame.time_ps, "stage": _stage_at(frame.time_ps, windows),
                     "student_eV_per_atom": prediction.energy_eV / n, "teacher_eV_per_atom": label.energy_eV / n,
                     "difference_meV_per_atom": difference, "force_rmse_meV_per_A": force_rmse})
    result = _verdict(rows, section)
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "teacher_audit.csv", {key: [row[key] for row in rows] for key in rows[0]})
    _figure(rows, section, windows, folder / "teacher_audit.png")
    (folder / AUDIT_JSON).write_text(json.dumps(result, indent=2) + "\n")
    return result


def _verdict(rows: list[dict], section: AuditSection) -> dict:
    differences = np.array([row["difference_meV_per_atom"] for row in rows])
    outside = [row for row in rows if abs(row["difference_meV_per_atom"]) > section.tolerance_meV_per_atom]
    first = outside[0] if outside else None
    return {
        "frames": len(rows),
        "tolerance_meV_per_atom": section.tolerance_meV_per_atom,
        "passed": first is None,
        "max_abs_difference_meV_per_atom": float(np.abs(differences).max()),
        "first_difference_meV_per_atom": float(differences[0]),
        "last_difference_meV_per_atom": float(differences[-1]),
        "drift_meV_per_atom": float(differences[-1] - differences[0]),
        "max_force_rmse_meV_per_A": float(max(row["force_rmse_meV_per_A"] for row in rows)),
        "first_outside": None if first is None else {k: first[k] for k in ("frame", "time_ps", "stage",
                                                                          "difference_meV_per_atom")},
        "rows": rows,
    }


def _figure(rows: list[dict], section: AuditSection, windows: dict[str, tuple[float, float]], path: Path) -> Path:
    figure = new_figure(6.4, 3.6)
    axis = figure.add_subplot()
    for k, (name, (begin, end)) in enumerate(windows.items()):
        axis.axvspan(begin, end, color=f"C{k % 10}", alpha=0.08, lw=0)
        axis.text(0.5 * (begin + end), 0.98, name, transform=axis.get_xaxis_transform(), ha="center", va="top",
                  fontsize="x-small", rotation=90)
    times = [row["time_ps"] for row in rows]
    axis.plot(times, [row["difference_meV_per_atom"] for row in rows], "o-", color="black", lw=1.2)
    for sign in (-1, 1):
        axis.axhline(sign * section.tolerance_meV_per_atom, color="tab:red", ls="--", lw=0.8)
    axis.axhline(0.0, color="0.6", lw=0.8, ls=":")
    axis.set_xlabel("time (ps)")
    axis.set_ylabel("E student - E teacher (meV/atom)")
    axis.set_title("the cycle's frames re-evaluated by the teacher (dashed: tolerance)")
    return save_figure(figure, path)
