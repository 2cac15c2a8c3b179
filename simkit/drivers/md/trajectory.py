"""The run's HDF5 (H5MD) record: trajectory frames and the observable time series.

Frames carry the per-atom arrays of every ``record`` list in the protocol
(declared up front, as H5MD needs); a stage that does not record one of them
stores NaN there. Velocities and forces, once any stage records them, are in
every frame. Observables are the thermo columns (temperature, energies,
per-region values, crystalline fraction) at the thermo cadence; a reading at
a step already stored (e.g. a minimisation that took no steps) is skipped,
since time series need increasing steps. A resumed run reopens the file and
continues after the checkpoint's step (later frames and records are dropped).

With ``species`` (the protocol's ``trajectory_species``) frames hold only the
atoms of those elements, in atom-ID order, with their image flags, so their
unwrapped positions stay exact; observables still describe the whole system.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
from ase.data import atomic_numbers

from simkit.io import H5mdWriter, ObservableSpec, PerAtomSpec
from simkit.io.h5md_layout import THERMO_OBSERVABLES
from simkit.lammps.crystallinity import BONDS_COMPUTE
from simkit.lammps.observables import PE_PER_ATOM, Column
from simkit.lammps.session import LammpsSession
from simkit.lammps.snapshot import append_snapshot, take_snapshot

# record name -> (per-atom spec, LAMMPS per-atom compute); velocities and forces are the writer's own.
# "crystalline" (0/1) is the solid-bond count against the threshold: LAMMPS cannot gather atom variables.
_PER_ATOM = {
    "crystalline": (PerAtomSpec("crystalline", "1"), f"c_{BONDS_COMPUTE}"),
    "solid_bonds": (PerAtomSpec("solid_bonds", "1"), f"c_{BONDS_COMPUTE}"),
    "potential_energy": (PerAtomSpec("potential_energy", "eV"), f"c_{PE_PER_ATOM}"),
}


# LAMMPS's simulated time, which the engine never resets: a file that records only a later
# stage (e.g. a diffusion production) starts at that stage's time, not at 0.
TIME_ORIGIN = "t = 0 ps is step 0 of the protocol, the start of its first stage"


class TrajectoryRecord:
    """Collective writer of frames and observables (every rank calls every method)."""

    def __init__(
        self,
        path: Path,
        comm,
        *,
        records: Iterable[str],
        columns: Sequence[Column],
        provenance: Mapping,
        resume_after_step: int | None = None,
        last_observable_step: int | None = None,
        min_solid_bonds: int | None = None,
        species: Sequence[str] | None = None,
    ):
        wanted = set(records)
        self.velocities = "velocities" in wanted
        self.forces = "forces" in wanted
        self.per_atom = [name for name in _PER_ATOM if name in wanted]
        self.columns = tuple(columns)
        observables = list(THERMO_OBSERVABLES.values()) + [ObservableSpec(c.quantity, c.unit) for c in self.columns]
        self.writer = H5mdWriter(
            path, comm,
            mode="create" if resume_after_step is None else "resume",
            resume_after_step=resume_after_step,
            velocities=self.velocities, forces=self.forces,
            per_atom=[_PER_ATOM[name][0] for name in self.per_atom],
            observables=observables,
            provenance=provenance,
            time_origin=TIME_ORIGIN,
        )
        self.last_frame_step = resume_after_step
        self.last_observable_step = last_observable_step
        self.write_s = 0.0  # wall time spent writing frames in this attempt (gather + write + commit)
        self.frames_written = 0
        self.min_solid_bonds = min_solid_bonds
        self.numbers = None if species is None else np.array([atomic_numbers[s] for s in species])

    def frame(self, session: LammpsSession, record: Sequence[str], step: int) -> bool:
        """Append the current frame; False if a frame at this step or later is stored already."""
        if self.last_frame_step is not None and step <= self.last_frame_step:
            return False
        started = time.perf_counter()
        # The per-atom records travel in the frame's own gather (one ID exchange and sort per frame).
        references = {_PER_ATOM[name][1]: 1 for name in self.per_atom if name in record}
        snapshot = take_snapshot(session, velocities=self.writer.velocities, forces=self.writer.forces,
                                 extra=references)
        per_atom = None if snapshot is None else self._per_atom(snapshot.extra, record, session.natoms)
        append_snapshot(self.writer, session, snapshot, per_atom=per_atom, numbers=self.numbers)
        self.write_s += time.perf_counter() - started
        self.frames_written += 1
        self.last_frame_step = step
        return True

    def _per_atom(self, gathered: Mapping[str, np.ndarray], record: Sequence[str], natoms: int
                  ) -> dict[str, np.ndarray]:
        """The frame's per-atom records (rank 0), from the gathered computes; NaN where not recorded."""
        per_atom = {}
        for name in self.per_atom:
            spec, reference = _PER_ATOM[name]
            if name in record:
                values = gathered[reference]
                if name == "crystalline":
                    values = values >= self.min_solid_bonds
                per_atom[name] = values.astype(np.float32)
            else:
                per_atom[name] = np.full(spec.shape(natoms), np.nan, dtype=np.float32)
        return per_atom

    def observables(self, step: int, time_ps: float, thermo: Mapping[str, float]) -> bool:
        """Append one record of every observable; False if this step is stored already."""
        if self.last_observable_step is not None and step <= self.last_observable_step:
            return False
        values = {spec.name: float(thermo[key]) for key, spec in THERMO_OBSERVABLES.items() if key in thermo}
        values.update({c.quantity: float(thermo[c.keyword]) for c in self.columns})
        self.writer.append_observables(step=step, time_ps=time_ps, values=values)
        self.last_observable_step = step
        return True

    @property
    def frames(self) -> int:
        return self.writer.frames

    def close(self, status: str = "finished") -> None:
        self.writer.close(status)
