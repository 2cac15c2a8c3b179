"""Changes of the simulation cell of a running system."""

from __future__ import annotations

import numpy as np

from simkit.lammps.session import LammpsSession


def volume_A3(session: LammpsSession) -> float:
    return float(abs(np.linalg.det(session.current_cell_lammps())))


def scale_to_volume(session: LammpsSession, target_A3: float) -> float:
    """Scale the cell (lengths and tilts) and every atom position isotropically to ``target_A3``.

    Velocities are kept. Returns the linear scale factor.
    """
    if target_A3 <= 0:
        raise ValueError(f"target volume must be positive, got {target_A3}")
    factor = float((target_A3 / volume_A3(session)) ** (1.0 / 3.0))
    cell = session.current_cell_lammps()
    xy, xz, yz = (float(v) for v in (cell[1, 0], cell[2, 0], cell[2, 1]))
    command = f"change_box all x scale {factor!r} y scale {factor!r} z scale {factor!r}"
    if session.box is not None and session.box.triclinic:
        command += f" xy final {xy * factor!r} xz final {xz * factor!r} yz final {yz * factor!r}"
    session.command(command + " remap units box")
    return float(factor)
