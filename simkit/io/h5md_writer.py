"""Append frames and thermo time series to an H5MD file, serially or under MPI.

:class:`H5mdWriter` is used collectively: every rank of ``comm`` makes the same
calls; frames are gathered by LAMMPS onto every rank and rank 0 alone writes
with h5py (h5py here is serial). Other ranks learn of an I/O failure on rank 0
through a broadcast, so all ranks raise the same error instead of hanging.

Crash consistency (what survives a SIGKILL of the writing process):

* After the first record (a frame or an observables row) the file is in
  HDF5's single-writer/multiple-reader (SWMR) mode, in which the file on disk
  is consistent at every instant. SWMR forbids new datasets, and the particle
  datasets need the first frame's atom count: a file whose first records were
  observables leaves SWMR (closes and reopens, a moment without it) to add
  them at its first frame.
* Each flush (every ``flush_every`` frames, default every frame) writes the
  frame data, then advances a commit counter (``/simkit/committed``) and
  flushes again. Readers use only frames up to the counter, so every frame
  flushed before a kill is read back intact, and a frame being written when
  the process died is never half-read.
* A killed file still carries HDF5's "open for writing" flag: simkit's reader
  and resume mode handle it (:func:`recover` rewrites it clean for other
  tools). Power loss is not covered: the writer does not ``fsync``.

Resuming rewrites the file (and :func:`recover` replaces it), so it happens
only while this process owns the file's folder (:mod:`simkit.runtime.locks`):
under a simkit command that holds it already, or by taking the folder's lock
for the writer's lifetime; a folder another live process holds is refused.

Resume: ``H5mdWriter(path, mode="resume", resume_after_step=S)`` reopens the
file, drops frames and observable records with step > S (a restart from S
repeats them), and continues appending, so a resumed run has no duplicated and
no missing frames.

Provenance: each writer adds a segment ``/parameters/simkit/run_<i>`` with
``status`` "running"; :meth:`H5mdWriter.close` sets it to "finished" (or the
status it is given), and a resume marks earlier segments still "running" as
"interrupted", so the file never claims a finished run is still running.
"""

from __future__ import annotations

import getpass
import json
import logging
from pathlib import Path
from typing import Iterable, Literal, Mapping, Sequence

import h5py
import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from simkit import __version__
from simkit.errors import InputDataError, RunFailed
from simkit.io import h5md_layout as L
from simkit.io.h5md_layout import ObservableSpec, PerAtomSpec
from simkit.io.h5md_recover import recover
from simkit.runtime.locks import RunDirLock, claim
from simkit.runtime.mpi import on_root, rank_of
from simkit.units import A_PER_PS_PER_ASE_VELOCITY

log = logging.getLogger(__name__)

_CHUNK_TARGET_BYTES = 256 * 1024
_MAX_ATOMS_PER_CHUNK = 32768
_MAX_FRAMES_PER_CHUNK = 64
_SERIES_CHUNK = 1024


def _set_units(dataset: h5py.Dataset, unit: str, *, h5md_unit: bool = True) -> None:
    dataset.attrs["units"] = unit
    if h5md_unit and unit != L.DIMENSIONLESS:
        dataset.attrs["unit"] = unit


def _is_open_for_write_error(error: OSError) -> bool:
    return "already open for write" in str(error) or "consistency flags" in str(error)


class H5mdWriter:
    """Writes an H5MD trajectory; see the module docstring for layout and guarantees.

    Parameters
    ----------
    path: the ``.h5md`` file. ``mode="create"`` overwrites it; ``"resume"`` continues it.
    comm: mpi4py communicator (None: serial). All its ranks must call every method.
    velocities, forces: store them with each frame (Å/ps, eV/Å).
    per_atom: optional per-atom arrays stored with each frame (e.g. crystallinity).
    observables: scalar time series declared up front, e.g. ``THERMO_OBSERVABLES.values()``
        for :meth:`append_thermo`. Default none: MDAnalysis reads observables by frame
        index, so a file with fewer records than frames does not open there.
    provenance: a RunRecord-like dict (config, seeds, versions, potential hashes),
        stored as JSON under ``/parameters/simkit/run_<i>``.
    time_origin: what t = 0 is, stored as ``origin`` on the time datasets (e.g. "step 0 of
        the protocol"); the times given to the append methods are on that axis.
    position_dtype: ``float64`` (default, exact) or ``float32`` (half the size).
    compression_level: gzip level 0-9 (0: no compression); shuffle is always on.
    flush_every: frames between flushes; a flush is the unit of crash safety.
    """

    def __init__(
        self,
        path: str | Path,
        comm=None,
        *,
        mode: Literal["create", "resume"] = "create",
        resume_after_step: int | None = None,
        velocities: bool = False,
        forces: bool = False,
        per_atom: Sequence[PerAtomSpec] = (),
        observables: Iterable[ObservableSpec] = (),
        provenance: Mapping | None = None,
        time_origin: str = L.DEFAULT_TIME_ORIGIN,
        position_dtype: Literal["float64", "float32"] = "float64",
        compression_level: int = 4,
        flush_every: int = 1,
    ):
        self.path = Path(path)
        self.comm = comm
        self.rank = rank_of(comm)
        self.velocities = velocities
        self.forces = forces
        self.per_atom = {spec.name: spec for spec in per_atom}
        self.observables = {spec.name: spec for spec in observables}
        self.time_origin = str(time_origin)
        self._series_root = L.THERMO_SERIES  # older files: L.OBSERVABLES (found on resume)
        self._last_time: float | None = None
        self._segment: str | None = None  # this writer's provenance group
        self.position_dtype = np.dtype(position_dtype)
        if not 0 <= compression_level <= 9:
            raise ValueError(f"compression_level must be 0-9, got {compression_level}")
        if flush_every < 1:
            raise ValueError(f"flush_every must be >= 1, got {flush_every}")
        self.compression_level = compression_level
        self.flush_every = flush_every
        self._file: h5py.File | None = None
        self._frames = 0
        self._records = 0
        self._last_step: int | None = None
        self._last_record_step: int | None = None
        self._natoms: int | None = None
        self._numbers: np.ndarray | None = None
        self._unflushed = 0
        self._handles: dict[str, h5py.Dataset] = {}  # path -> dataset, so appends skip group lookups
        self._claim: RunDirLock | None = None  # the folder's lock, when resuming took it
        if mode not in ("create", "resume"):
            raise ValueError(f"mode must be 'create' or 'resume', got {mode!r}")
        self._collective(lambda: self._open(mode, resume_after_step, provenance))

    # -- collective plumbing -----------------------------------------------------------
    def _collective(self, action) -> None:
        """Run ``action`` on rank 0 and raise its error on every rank (no rank is left waiting)."""

        def guarded() -> None:
            try:
                action()
            except OSError as exc:
                raise RunFailed(f"{self.path}: cannot write the trajectory: {exc}") from exc

        # Frames come often: wait in a plain broadcast, not on_root's sleeping poll.
        on_root(self.comm, guarded, share=False, poll=False)

    # -- opening -------------------------------------------------------------------------
    def _open(self, mode: str, resume_after_step: int | None, provenance: Mapping | None) -> None:
        if mode == "create":
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = h5py.File(self.path, "w", libver="latest")
            self._write_header()
            self._create_observables()
            self._committed = self._file.create_dataset(L.COMMITTED, data=np.zeros(2, dtype=np.int64))
            _set_units(self._committed, L.DIMENSIONLESS)
            self._add_provenance(provenance, resumed_after_step=None)
            self._file.flush()
            return
        if not self.path.is_file():
            raise InputDataError(f"{self.path}: cannot resume: no such trajectory file")
        self._claim = claim(self.path.parent, f"resume {self.path.name}")
        try:
            self._reopen(resume_after_step, provenance)
        except BaseException:
            self._claim.release()
            raise

    def _reopen(self, resume_after_step: int | None, provenance: Mapping | None) -> None:
        try:
            self._file = h5py.File(self.path, "r+", libver="latest")
        except OSError as exc:
            if not _is_open_for_write_error(exc):
                raise
            log.warning("%s was not closed cleanly (killed run?); recovering its committed frames", self.path)
            recover(self.path)
            self._file = h5py.File(self.path, "r+", libver="latest")
        self._resume(resume_after_step)
        self._add_provenance(provenance, resumed_after_step=self._last_step if resume_after_step is None else resume_after_step)
        self._file.flush()
        self._file.swmr_mode = True

    def _write_header(self) -> None:
        f = self._file
        h5md = f.create_group("h5md")
        h5md.attrs["version"] = np.array(L.H5MD_VERSION, dtype=np.int32)
        try:
            author = getpass.getuser()
        except (KeyError, OSError):  # no user database entry (containers)
            author = "unknown"
        h5md.create_group("author").attrs["name"] = author
        creator = h5md.create_group("creator")
        creator.attrs["name"] = "simkit"
        creator.attrs["version"] = __version__
        units = h5md.create_group("modules/units")
        units.attrs["version"] = np.array(L.UNITS_MODULE_VERSION, dtype=np.int32)
        f.create_group(L.PARTICLES)
        f.create_group(L.OBSERVABLES)
        f.create_group(L.THERMO_SERIES)
        f.create_group(L.PROVENANCE)

    def _add_provenance(self, provenance: Mapping | None, resumed_after_step: int | None) -> None:
        group = self._file.require_group(L.PROVENANCE)
        index = len([k for k in group if k.startswith("run_")])
        for key in group:
            if key.startswith("run_") and group[key].attrs.get("status") == "running":
                group[key].attrs["status"] = "interrupted"  # its writer never closed: killed or crashed
                group[key].attrs["json"] = _with_status(group[key].attrs.get("json", "{}"), "interrupted")
        run = group.create_group(f"run_{index}")
        self._segment = run.name
        run.attrs["status"] = "running"
        run.attrs["json"] = json.dumps(dict(provenance or {}), default=str, sort_keys=True)
        run.attrs["resumed_after_step"] = -1 if resumed_after_step is None else int(resumed_after_step)
        run.attrs["first_frame"] = self._frames
        versions = (provenance or {}).get("versions") or {}
        if versions.get("lammps"):
            run.attrs["lammps_version"] = str(versions["lammps"])

    def _series(self, group: h5py.Group, shape: tuple[int, ...], dtype, *, chunks: tuple[int, ...], fill=None):
        """An extendible ``value`` dataset of per-record arrays of ``shape``."""
        compression = {}
        if self.compression_level and shape:
            compression = {"compression": "gzip", "compression_opts": self.compression_level, "shuffle": True}
        return group.create_dataset(
            "value", shape=(0, *shape), maxshape=(None, *shape), dtype=dtype, chunks=chunks, fillvalue=fill,
            **compression,
        )

    def _shared_clock(self, group: h5py.Group) -> None:
        step = group.create_dataset("step", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(_SERIES_CHUNK,))
        _set_units(step, L.DIMENSIONLESS)
        time = group.create_dataset("time", shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(_SERIES_CHUNK,))
        _set_units(time, L.TIME_UNIT)
        time.attrs["origin"] = self.time_origin

    def _link_clock(self, group: h5py.Group, source: h5py.Group) -> None:
        group["step"] = source["step"]  # hard links: one clock for all elements
        group["time"] = source["time"]

    def _create_observables(self) -> None:
        root = self._file.require_group(self._series_root)
        clock = None
        for name, spec in self.observables.items():
            if name in root:
                continue
            group = root.create_group(name)
            existing = next((root[k] for k in root if k != name and "step" in root[k]), None)
            if clock is None and existing is None:
                self._shared_clock(group)
                clock = group
            else:
                self._link_clock(group, clock or existing)
            value = self._series(group, (), np.float64, chunks=(_SERIES_CHUNK,), fill=np.nan)
            value.resize(self._records, axis=0)
            _set_units(value, spec.unit)

    def _create_frame_dt(self) -> None:
        group = self._file.require_group(L.FRAME_DT)
        self._shared_clock(group)  # own copies of the frame clock (see h5md_layout)
        value = self._series(group, (), np.float64, chunks=(_SERIES_CHUNK,), fill=np.nan)
        _set_units(value, L.TIME_UNIT)
        value.attrs["description"] = "time since the previous frame; frame 0 holds frame 1's spacing"

    def _frame_chunks(self, natoms: int, itemsize: int, components: int) -> tuple[int, int]:
        atoms = min(natoms, _MAX_ATOMS_PER_CHUNK)
        frames = _CHUNK_TARGET_BYTES // max(1, atoms * components * itemsize)
        return max(1, min(_MAX_FRAMES_PER_CHUNK, frames)), atoms

    def _element(self, name: str, shape: tuple[int, ...], dtype, unit: str, fill=None) -> None:
        particles = self._file[L.PARTICLES]
        group = particles.create_group(name)
        if name == "position":
            self._shared_clock(group)
        else:
            self._link_clock(group, particles["position"])
        dtype = np.dtype(dtype)
        components = shape[1] if len(shape) > 1 else 1
        frames, atoms = self._frame_chunks(shape[0], dtype.itemsize, components)
        # Chunked along atoms too, so reading a block of atoms over all frames (MSD) stays cheap.
        value = self._series(group, shape, dtype, chunks=(frames, atoms, *shape[1:]), fill=fill)
        value.resize(self._frames, axis=0)
        _set_units(value, unit)

    def _create_particles(self, natoms: int, numbers: np.ndarray, pbc: Sequence[bool]) -> None:
        particles = self._file[L.PARTICLES]
        box = particles.create_group("box")
        box.attrs["dimension"] = np.int32(3)
        box.attrs["boundary"] = np.array(["periodic" if p else "none" for p in pbc], dtype=h5py.string_dtype())
        self._element("position", (natoms, 3), self.position_dtype, L.LENGTH_UNIT)
        edges = box.create_group("edges")
        self._link_clock(edges, particles["position"])
        value = self._series(edges, (3, 3), np.float64, chunks=(_SERIES_CHUNK // 8, 3, 3))
        _set_units(value, L.LENGTH_UNIT)
        self._element("image", (natoms, 3), np.int32, L.DIMENSIONLESS)
        if self.velocities:
            self._element("velocity", (natoms, 3), self.position_dtype, L.VELOCITY_UNIT, fill=np.nan)
        if self.forces:
            self._element("force", (natoms, 3), self.position_dtype, L.FORCE_UNIT, fill=np.nan)
        for spec in self.per_atom.values():
            self._element(spec.name, spec.shape(natoms), spec.dtype, spec.unit, fill=_fill_for(spec.dtype))
        if self._series_root != L.OBSERVABLES:  # files of the older layout carry no frame dt
            self._create_frame_dt()
        species = particles.create_dataset("species", data=numbers.astype(np.int32))
        _set_units(species, L.DIMENSIONLESS)
        species.attrs["description"] = "atomic number"
        masses = np.array([atomic_masses[z] if z > 0 else 0.0 for z in numbers])
        _set_units(particles.create_dataset("mass", data=masses), L.MASS_UNIT)
        self._natoms = natoms
        self._numbers = numbers.astype(np.int32)

    # -- resume --------------------------------------------------------------------------
    def _resume(self, resume_after_step: int | None) -> None:
        f = self._file
        committed = f[L.COMMITTED][...] if L.COMMITTED in f else None
        if committed is None:
            raise InputDataError(f"{self.path}: not a trajectory written by simkit's H5mdWriter (no {L.COMMITTED})")
        self._committed = f[L.COMMITTED]
        if L.THERMO_SERIES not in f:  # written before the thermo series left /observables
            self._series_root = L.OBSERVABLES
        particles = f[L.PARTICLES]
        if "position" in particles:
            steps = particles["position/step"][: int(committed[0])]
            keep = _records_to_keep(steps, resume_after_step)
            self._natoms = int(particles["position/value"].shape[1])
            self._numbers = particles["species"][...]
            self._check_layout(particles)
            for name in self._frame_element_names(particles):
                particles[f"{name}/value"].resize(keep, axis=0)
            particles["box/edges/value"].resize(keep, axis=0)
            particles["position/step"].resize(keep, axis=0)
            particles["position/time"].resize(keep, axis=0)
            if L.FRAME_DT in f:
                for name in ("step", "time", "value"):
                    f[f"{L.FRAME_DT}/{name}"].resize(keep, axis=0)
            self._frames = keep
            self._last_step = int(steps[keep - 1]) if keep else None
            self._last_time = float(particles["position/time"][keep - 1]) if keep else None
            for spec in self.per_atom.values():
                if spec.name not in particles:
                    self._element(spec.name, spec.shape(self._natoms), spec.dtype, spec.unit, fill=_fill_for(spec.dtype))
            dropped = len(steps) - keep
            log.info("resuming %s after step %s: kept %d frame(s), dropped %d", self.path, resume_after_step, keep, dropped)
        self._resume_observables(int(committed[1]), resume_after_step)
        self._committed[...] = [self._frames, self._records]

    def _frame_element_names(self, particles: h5py.Group) -> list[str]:
        return [k for k in particles if isinstance(particles[k], h5py.Group) and k != "box"]

    def _check_layout(self, particles: h5py.Group) -> None:
        for name, option, wanted in (("velocity", "velocities", self.velocities), ("force", "forces", self.forces)):
            if (name in particles) != wanted:
                state = "has" if name in particles else "has no"
                raise InputDataError(f"{self.path}: the file {state} {name} data; resume with {option}={name in particles}")
        extra = set(self._frame_element_names(particles)) - set(L.FRAME_ELEMENTS) - set(self.per_atom)
        if extra:
            raise InputDataError(f"{self.path}: the file stores per-atom {sorted(extra)}; declare them to resume")

    def _resume_observables(self, committed_records: int, resume_after_step: int | None) -> None:
        root = self._file[self._series_root]
        clock = next((root[k] for k in root if "step" in root[k]), None)
        if clock is not None:
            steps = clock["step"][:committed_records]
            keep = _records_to_keep(steps, resume_after_step)
            for name in root:
                root[f"{name}/value"].resize(keep, axis=0)
            clock["step"].resize(keep, axis=0)
            clock["time"].resize(keep, axis=0)
            self._records = keep
            self._last_record_step = int(steps[keep - 1]) if keep else None
        for name in root:
            self.observables.setdefault(name, ObservableSpec(name, str(root[f"{name}/value"].attrs.get("units", "1"))))
        self._create_observables()

    # -- appending -----------------------------------------------------------------------
    def append_atoms(self, atoms: Atoms, *, step: int, time_ps: float, images: np.ndarray | None = None,
                     per_atom: Mapping[str, np.ndarray] | None = None) -> None:
        """Append an ASE frame (velocities and forces taken from it when the writer stores them)."""
        velocities = atoms.get_velocities() * A_PER_PS_PER_ASE_VELOCITY if self.velocities else None
        forces = None
        if self.forces:
            if atoms.calc is None:
                raise InputDataError(f"frame at step {step}: the writer stores forces but the Atoms have none")
            forces = atoms.get_forces()
        self.append_frame(
            step=step, time_ps=time_ps, positions_A=atoms.positions, cell_A=np.array(atoms.cell),
            numbers=atoms.numbers, pbc=tuple(bool(p) for p in atoms.pbc), images=images,
            velocities_A_per_ps=velocities, forces_eV_per_A=forces, per_atom=per_atom,
        )

    def append_frame(
        self,
        *,
        step: int,
        time_ps: float,
        positions_A: np.ndarray,
        cell_A: np.ndarray,
        symbols: Sequence[str] | None = None,
        numbers: np.ndarray | None = None,
        pbc: Sequence[bool] = (True, True, True),
        images: np.ndarray | None = None,
        velocities_A_per_ps: np.ndarray | None = None,
        forces_eV_per_A: np.ndarray | None = None,
        per_atom: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Append one frame. Collective: under MPI rank 0's arrays are written.

        Species come as ``symbols`` or as atomic ``numbers`` (faster for big frames).
        Without ``images`` the positions are taken as unwrapped and split into
        wrapped positions plus image flags along periodic directions. Other ranks
        may pass ``None`` arrays: they only take part in the error broadcast.
        """
        def write():
            if (symbols is None) == (numbers is None):
                raise ValueError("give exactly one of symbols or numbers")
            self._write_frame(
                int(step), float(time_ps), np.asarray(positions_A, dtype=float), np.asarray(cell_A, dtype=float),
                _numbers(symbols) if numbers is None else np.asarray(numbers, dtype=np.int32),
                tuple(bool(p) for p in pbc), images, velocities_A_per_ps, forces_eV_per_A, per_atom or {},
            )

        self._collective(write)

    def append_thermo(self, thermo: Mapping[str, float], *, time_ps: float | None = None) -> None:
        """Append a thermo dict (``LammpsSession.thermo()`` keys) as one observable record."""
        time = float(thermo["time"]) if time_ps is None else time_ps
        self.append_observables(step=int(thermo["step"]), time_ps=time, values=self._declared_thermo(thermo))

    def _declared_thermo(self, thermo: Mapping[str, float]) -> dict[str, float]:
        """The thermo values that have a declared observable (temperature, energies, ...)."""
        values = {name: v for name, v in _thermo_values(thermo).items() if name in self.observables}
        if not values:
            raise ValueError("no thermo observable is declared: create the writer with "
                             "observables=THERMO_OBSERVABLES.values() to store thermo")
        return values

    def append_observables(self, *, step: int, time_ps: float, values: Mapping[str, float]) -> None:
        """Append one record of scalar observables; undeclared names are errors, missing ones NaN."""
        self._check_declared(values)
        self._collective(lambda: self._write_record(int(step), float(time_ps), values))

    def _check_declared(self, values: Mapping[str, float]) -> None:
        unknown = sorted(set(values) - set(self.observables))
        if unknown:
            raise ValueError(f"observables {unknown} were not declared (declared: {sorted(self.observables)})")

    # -- rank-0 writing ----------------------------------------------------------------
    def _write_frame(self, step, time_ps, positions, cell, numbers, pbc, images, velocities, forces, per_atom,
                     *, commit: bool = True):
        label = f"{self.path}: frame at step {step}"
        natoms = len(positions)
        if positions.shape != (natoms, 3) or cell.shape != (3, 3):
            raise InputDataError(f"{label}: positions must be (N, 3) and the cell (3, 3), got "
                                 f"{positions.shape} and {cell.shape}")
        if self._last_step is not None and step <= self._last_step:
            raise InputDataError(f"{label}: steps must increase; the last stored frame is step {self._last_step}")
        if self._natoms is None:
            self._leave_swmr()
            self._create_particles(natoms, numbers, pbc)
            self._file.flush()
            self._file.swmr_mode = True
        elif natoms != self._natoms or not np.array_equal(numbers, self._numbers):
            raise InputDataError(f"{label}: {natoms} atoms / species differ from the file's {self._natoms} atoms")
        if images is None:
            positions, images = _split_images(positions, cell, pbc)
        arrays = {"position": positions.astype(self.position_dtype), "image": np.asarray(images, dtype=np.int32)}
        if self.velocities:
            arrays["velocity"] = _required(velocities, (natoms, 3), "velocities", label)
        if self.forces:
            arrays["force"] = _required(forces, (natoms, 3), "forces", label)
        unknown = sorted(set(per_atom) - set(self.per_atom))
        if unknown:
            raise InputDataError(f"{label}: per-atom data {unknown} not declared when the writer was created")
        for name, spec in self.per_atom.items():
            arrays[name] = _required(per_atom.get(name), spec.shape(natoms), f"per-atom {name!r}", label)
        index = self._frames
        for name, array in arrays.items():
            self._append(f"{L.PARTICLES}/{name}/value", index, array)
        self._append(f"{L.PARTICLES}/box/edges/value", index, cell)
        if L.FRAME_DT in self._file:
            self._append_frame_dt(index, step, time_ps)
        # The clock is written last: a frame without its step is not a frame.
        self._append(f"{L.PARTICLES}/position/time", index, time_ps)
        self._append(f"{L.PARTICLES}/position/step", index, step)
        self._frames += 1
        self._last_step = step
        self._last_time = time_ps
        self._unflushed += 1
        if commit and self._unflushed >= self.flush_every:
            self._commit()

    def _append_frame_dt(self, index: int, step: int, time_ps: float) -> None:
        dt = np.nan if self._last_time is None else time_ps - self._last_time
        self._append(f"{L.FRAME_DT}/value", index, dt)
        if index == 1:
            self._dataset(f"{L.FRAME_DT}/value")[0] = dt
        self._append(f"{L.FRAME_DT}/time", index, time_ps)
        self._append(f"{L.FRAME_DT}/step", index, step)

    def _leave_swmr(self) -> None:
        """Close and reopen the file out of SWMR mode (the only way out), to create datasets."""
        if not self._file.swmr_mode:
            return
        self._file.close()
        self._handles.clear()
        self._file = h5py.File(self.path, "r+", libver="latest")
        self._committed = self._file[L.COMMITTED]

    def _write_record(self, step: int, time_ps: float, values: Mapping[str, float]) -> None:
        if self._last_record_step is not None and step <= self._last_record_step:
            raise InputDataError(
                f"{self.path}: observables at step {step}: steps must increase (last record {self._last_record_step})"
            )
        index = self._records
        for name in self.observables:
            self._append(f"{self._series_root}/{name}/value", index, float(values.get(name, np.nan)))
        clock = self._observable_clock()
        self._append(f"{clock}/time", index, time_ps)
        self._append(f"{clock}/step", index, step)
        self._records += 1
        self._last_record_step = step
        self._commit()
        if not self._file.swmr_mode:
            self._file.swmr_mode = True  # from now on a kill leaves a file SWMR readers (and resume) can open

    def _dataset(self, path: str) -> h5py.Dataset:
        handle = self._handles.get(path)
        if handle is None:
            handle = self._handles[path] = self._file[path]
        return handle

    def _append(self, path: str, index: int, value) -> None:
        dataset = self._dataset(path)
        dataset.resize(index + 1, axis=0)
        dataset[index] = value

    def _observable_clock(self) -> str:
        """Path of the observables group holding the shared step/time datasets."""
        if "observable_clock" not in self.__dict__:
            root = self._file[self._series_root]
            self.observable_clock = f"{self._series_root}/" + next(k for k in root if "step" in root[k])
        return self.observable_clock

    def _commit(self) -> None:
        """Flush data, then advance the commit counter and flush it (two flushes: ordering)."""
        self._file.flush()
        self._committed[...] = [self._frames, self._records]
        self._file.flush()
        self._unflushed = 0

    # -- closing ---------------------------------------------------------------------------
    @property
    def frames(self) -> int:
        """Frames in the file so far (rank 0's count; 0 on other ranks)."""
        return self._frames

    def close(self, status: str = "finished") -> None:
        """Commit, record this segment's final ``status`` in the file's provenance, and close."""

        def _close():
            if self._file is not None:
                if self._file.id.valid:
                    self._commit()
                    self._finalise_provenance(status)
                    self._file.close()
                self._file = None
            if self._claim is not None:
                self._claim.release()
        self._collective(_close)

    def _finalise_provenance(self, status: str) -> None:
        if self._segment is None:
            return
        # Rewritten in SWMR mode: leaving it (close, reopen) would open a window in which a kill
        # leaves a file flagged open-for-write that neither SWMR readers nor recover can open.
        run = self._file[self._segment]
        run.attrs["status"] = status
        run.attrs["json"] = _with_status(run.attrs.get("json", "{}"), status)
        self._file.flush()

    def __enter__(self) -> "H5mdWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close("finished" if exc_type is None else "failed")


def _with_status(provenance_json: str, status: str) -> str:
    """The segment's provenance JSON with its run ``status`` replaced (the start-of-run copy says running)."""
    try:
        data = json.loads(provenance_json)
    except ValueError:
        return provenance_json
    if isinstance(data, dict) and data:
        data["status"] = status
        return json.dumps(data, default=str, sort_keys=True)
    return provenance_json


def _numbers(symbols: Sequence[str]) -> np.ndarray:
    """Atomic numbers of chemical symbols (0 for names that are not elements)."""
    unique, inverse = np.unique(np.asarray(symbols, dtype=str), return_inverse=True)
    return np.array([atomic_numbers.get(u, 0) for u in unique], dtype=np.int32)[inverse]


def _thermo_values(thermo: Mapping[str, float]) -> dict[str, float]:
    return {spec.name: float(thermo[key]) for key, spec in L.THERMO_OBSERVABLES.items() if key in thermo}


def _fill_for(dtype: str):
    return np.nan if np.issubdtype(np.dtype(dtype), np.floating) else -1


def _required(array, shape: tuple[int, ...], what: str, label: str) -> np.ndarray:
    if array is None:
        raise InputDataError(f"{label}: the writer stores {what} but none were given")
    array = np.asarray(array)
    if array.shape != shape:
        raise InputDataError(f"{label}: {what} must have shape {shape}, got {array.shape}")
    return array


def _split_images(positions: np.ndarray, cell: np.ndarray, pbc: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Unwrapped positions -> (wrapped positions, integer images) along periodic axes."""
    fractional = positions @ np.linalg.inv(cell)
    shifts = np.floor(fractional)
    shifts[:, ~np.asarray(pbc, dtype=bool)] = 0.0
    return positions - shifts @ cell, shifts.astype(np.int32)


def _records_to_keep(steps: np.ndarray, resume_after_step: int | None) -> int:
    """How many leading records a resume keeps: those up to ``resume_after_step``, and never past the
    first record whose step does not increase.

    A SIGKILL in the middle of a flush can leave a record counted as committed whose step never
    reached the disk (it reads as the fill value 0 after larger steps); it and everything after it
    are dropped, and the resumed run writes them again from its checkpoint.
    """
    steps = np.asarray(steps)
    increasing = np.concatenate([[True], np.diff(steps) > 0]) if len(steps) else np.ones(0, dtype=bool)
    valid = len(steps) if increasing.all() else int(np.argmin(increasing))
    steps = steps[:valid]
    return valid if resume_after_step is None else int(np.searchsorted(steps, resume_after_step, "right"))
