"""One frame of a running LAMMPS system, gathered from every rank onto rank 0 as numpy arrays.

A :class:`Snapshot` is what a trajectory writer needs: wrapped positions plus
integer image flags (so unwrapped positions, and hence MSDs, are exact), the
cell, per-atom species, the step and the simulation time, optionally
velocities and forces. Everything is in the ASE frame and in atom-ID order,
in simkit's units (Å, ps, Å/ps, eV/Å).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from simkit.lammps.gather import gather_on_root
from simkit.lammps.session import LammpsSession
from simkit.units import A_PER_PS_PER_ASE_VELOCITY


@dataclass(frozen=True)
class Snapshot:
    """Per-atom arrays of one frame (ASE frame, atom-ID order)."""

    step: int
    time_ps: float
    positions_A: np.ndarray  # (N, 3), wrapped into the cell as LAMMPS last wrapped them
    images: np.ndarray  # (N, 3) int, unwrapped = positions + images @ cell
    cell_A: np.ndarray  # (3, 3), rows are the cell vectors
    pbc: tuple[bool, bool, bool]
    numbers: np.ndarray  # (N,) atomic numbers (0 for species that are not elements)
    species: tuple[str, ...]  # the session's species, type i = species[i - 1]
    types: np.ndarray  # (N,) LAMMPS atom types
    velocities_A_per_ps: np.ndarray | None = None
    forces_eV_per_A: np.ndarray | None = None
    extra: Mapping[str, np.ndarray] = field(default_factory=dict)  # further quantities asked for, by LAMMPS name

    @property
    def symbols(self) -> list[str]:
        return [self.species[t - 1] for t in self.types]

    @property
    def unwrapped_positions_A(self) -> np.ndarray:
        return self.positions_A + self.images @ self.cell_A

    def to_atoms(self) -> Atoms:
        """ASE Atoms of this frame: wrapped positions, cell, pbc, and velocities when gathered."""
        atoms = Atoms(symbols=self.symbols, positions=self.positions_A, cell=self.cell_A, pbc=self.pbc)
        if self.velocities_A_per_ps is not None:
            atoms.set_velocities(self.velocities_A_per_ps / A_PER_PS_PER_ASE_VELOCITY)
        return atoms


def current_time_ps(session: LammpsSession) -> tuple[int, float]:
    """(step, simulation time in ps) now, correct across timestep changes."""
    return session.time_ps()


def take_snapshot(session: LammpsSession, *, velocities: bool = False, forces: bool = False,
                  extra: Mapping[str, int] | None = None) -> Snapshot | None:
    """Gather the current frame onto rank 0; a collective call on every rank of the session.

    Returns the :class:`Snapshot` on rank 0 and ``None`` on the other ranks, which never
    hold more than their own atoms (see :mod:`simkit.lammps.gather`). Forces are those of
    the last force evaluation (the last step of the last run). ``extra``: further per-atom
    quantities (``c_ID``: columns) gathered in the same call, in ``Snapshot.extra``.
    """
    if session.box is None:
        raise RuntimeError("take_snapshot() needs a system: call create_system() first")
    step, time_ps = current_time_ps(session)
    quantities = {"type": 1, "x": 3, "image": 1}
    quantities.update({"v": 3} if velocities else {})
    quantities.update({"f": 3} if forces else {})
    quantities.update(extra or {})
    arrays = gather_on_root(session, quantities)
    if arrays is None:
        return None
    box = session.box
    types = arrays["type"].astype(np.int32)
    type_numbers = np.array([0] + [atomic_numbers.get(s, 0) for s in session.species], dtype=np.int32)
    return Snapshot(
        step=step,
        time_ps=time_ps,
        positions_A=box.from_lammps(arrays["x"]),
        images=session.decode_images(arrays["image"]).astype(np.int32),
        cell_A=box.from_lammps(session.current_cell_lammps()),
        pbc=tuple(bool(p) for p in box.pbc),
        numbers=type_numbers[types],
        species=tuple(session.species),
        types=types,
        velocities_A_per_ps=box.from_lammps(arrays["v"]) if velocities else None,
        forces_eV_per_A=box.from_lammps(arrays["f"]) if forces else None,
        extra={name: arrays[name] for name in extra or {}},
    )


def atoms_on_root(session: LammpsSession) -> Atoms | None:
    """The current configuration as ASE Atoms (wrapped positions, cell, velocities) on rank 0, ``None`` on
    the other ranks; collective. :meth:`LammpsSession.to_atoms` leaves a copy on every rank."""
    snapshot = take_snapshot(session, velocities=True)
    return None if snapshot is None else snapshot.to_atoms()


def append_session(writer, session: LammpsSession, *, thermo: Mapping[str, float] | None = None,
                   per_atom: Mapping[str, np.ndarray] | None = None, numbers: Sequence[int] | None = None) -> None:
    """Gather the session's current frame and append it to an :class:`~simkit.io.H5mdWriter` (collective).

    ``thermo``: a :meth:`LammpsSession.thermo` dict of this step, stored as an observables record.
    ``per_atom``: arrays in atom-ID order, needed on rank 0 only (gathered with the frame: ``extra`` of
    :func:`take_snapshot`, then :func:`append_snapshot`).
    ``numbers``: atomic numbers of the species to keep (default: every atom).
    """
    step, time_ps = current_time_ps(session)
    if thermo is not None and int(thermo["step"]) != step:
        raise ValueError(f"thermo is from step {int(thermo['step'])}, the frame from step {step}")
    snapshot = take_snapshot(session, velocities=writer.velocities, forces=writer.forces)
    append_snapshot(writer, session, snapshot, per_atom=per_atom, numbers=numbers)
    if thermo is not None:
        writer.append_thermo(thermo, time_ps=time_ps)


def append_snapshot(writer, session: LammpsSession, snapshot: Snapshot | None, *,
                    per_atom: Mapping[str, np.ndarray] | None = None, numbers: Sequence[int] | None = None) -> None:
    """Append :func:`take_snapshot`'s result to an :class:`~simkit.io.H5mdWriter` (collective: every rank
    calls it, with ``None`` off rank 0). ``per_atom`` and ``numbers`` as for :func:`append_session`."""
    if snapshot is None:
        # Not rank 0: the writer writes rank 0's arrays, but every rank takes part in its error broadcast.
        step, time_ps = current_time_ps(session)
        writer.append_frame(step=step, time_ps=time_ps, positions_A=None, cell_A=None, numbers=None)
        return
    keep = slice(None) if numbers is None else np.isin(snapshot.numbers, numbers)

    def kept(values):
        return None if values is None else values[keep]

    writer.append_frame(
        step=snapshot.step, time_ps=snapshot.time_ps, positions_A=snapshot.positions_A[keep],
        cell_A=snapshot.cell_A, numbers=snapshot.numbers[keep], pbc=snapshot.pbc, images=snapshot.images[keep],
        velocities_A_per_ps=kept(snapshot.velocities_A_per_ps), forces_eV_per_A=kept(snapshot.forces_eV_per_A),
        per_atom={name: values[keep] for name, values in (per_atom or {}).items()},
    )
