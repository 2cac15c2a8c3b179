"""The one place where simkit talks to LAMMPS.

Drivers describe *what* they want (a structure, a potential, a run of N steps,
a fix); this layer turns it into LAMMPS commands, starts LAMMPS on the MPI
communicator it is given, reads results back as numpy arrays in the ASE frame
and atom order, and turns LAMMPS failures into :class:`simkit.errors.LammpsError`
carrying LAMMPS's own message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from ase import Atoms
from ase.data import atomic_masses, atomic_numbers

from simkit.errors import BackendSetupError, InputDataError, LammpsError
from simkit.lammps import pace_plugin
from simkit.lammps.install import lammps_module
from simkit.lammps.potentials.base import PairStyle, Potential
from simkit.lammps.structure import LammpsBox, lammps_box, wrap_positions
from simkit.lammps.words import lammps_number, lammps_word
from simkit.units import A_PER_PS_PER_ASE_VELOCITY

log = logging.getLogger(__name__)

# ASE velocities are in Å per ASE time unit; LAMMPS metal velocities in Å/ps.
_VIRIAL_COMPUTE = "simkit_virial"
_PE_ATOM_COMPUTE = "simkit_pe_atom"
_STRESS_ATOM_COMPUTE = "simkit_stress_atom"
_THERMO_KEYS = ("step", "time", "temp", "pe", "ke", "etotal", "press", "vol")
# last_thermo() reports column headers; map them back to thermo_style keywords.
_THERMO_HEADERS = {
    "Step": "step", "Time": "time", "Temp": "temp", "PotEng": "pe", "KinEng": "ke",
    "TotEng": "etotal", "Press": "press", "Volume": "vol",
}
# Order of LAMMPS's six tensor components.
_VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))


@dataclass(frozen=True)
class Evaluation:
    """Energies, forces and stress of one structure (ASE frame and atom order)."""

    energy_eV: float
    forces_eV_per_A: np.ndarray  # (N, 3)
    stress_eV_per_A3: np.ndarray  # (3, 3), ASE sign: positive = tensile
    volume_A3: float
    energies_eV: np.ndarray | None = None  # per atom, if requested
    virials_eV: np.ndarray | None = None  # per atom (N, 3, 3), if requested

    @property
    def virial_eV(self) -> np.ndarray:
        """Virial tensor W = -stress * V (eV), the quantity fitted alongside forces."""
        return -self.stress_eV_per_A3 * self.volume_A3


def _tensor_from_six(values: Sequence[float]) -> np.ndarray:
    tensor = np.zeros((3, 3))
    for value, (i, j) in zip(values, _VOIGT_PAIRS):
        tensor[i, j] = tensor[j, i] = value
    return tensor


def _format_command(style: PairStyle) -> list[str]:
    # Arguments are often file paths: quoted where needed so a space stays inside one word.
    lines = [" ".join(["pair_style", style.style, *map(lammps_word, style.style_args)])]
    lines += [" ".join(["pair_coeff", c.i, c.j, *map(lammps_word, c.args)]) for c in style.coeffs]
    return lines


class LammpsSession:
    """A LAMMPS instance on an MPI communicator, holding at most one system.

    Use as a context manager. ``comm`` is an mpi4py communicator (default: the
    world communicator if MPI is initialised by the caller, else LAMMPS's own).
    """

    def __init__(self, comm=None, *, log_path: Path | None = None, echo: bool = False):
        lammps = lammps_module()
        args = ["-nocite", "-screen", "stdout" if echo else "none"]
        args += ["-log", str(log_path) if log_path else "none"]
        try:
            self._lmp = lammps.lammps(comm=comm, cmdargs=args) if comm is not None else lammps.lammps(cmdargs=args)
        except Exception as exc:  # noqa: BLE001 - any start-up failure is a setup problem
            raise BackendSetupError(f"LAMMPS could not start: {exc}") from exc
        if not self._lmp.has_exceptions:
            raise BackendSetupError("this LAMMPS was built without C++ exceptions; simkit needs them")
        self._comm = comm
        self.species: tuple[str, ...] = ()
        self.box: LammpsBox | None = None
        self.potential: Potential | None = None
        self.pace_source: str | None = None
        self.transcript: list[str] = []

    # -- lifecycle -----------------------------------------------------------------
    def __enter__(self) -> "LammpsSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._lmp is not None:
            self._lmp.close()
            self._lmp = None

    @property
    def lmp(self):
        """The raw ``lammps.lammps`` handle, for sibling modules of this layer (plugins)."""
        if self._lmp is None:
            raise RuntimeError("LAMMPS session is closed")
        return self._lmp

    @property
    def comm(self):
        """The mpi4py communicator LAMMPS runs on (None: serial, or LAMMPS's own world)."""
        return self._comm

    @property
    def rank(self) -> int:
        return int(self.lmp.extract_setting("world_rank"))

    @property
    def size(self) -> int:
        return int(self.lmp.extract_setting("world_size"))

    @property
    def version(self) -> int:
        return int(self.lmp.version())

    @property
    def natoms(self) -> int:
        return int(self.lmp.get_natoms())

    @property
    def step(self) -> int:
        """The current timestep number (LAMMPS's ``ntimestep``)."""
        return int(self.lmp.extract_global("ntimestep"))

    def time_ps(self) -> tuple[int, float]:
        """(step, simulation time in ps) now, correct across timestep changes."""
        lmp = self.lmp
        step = int(lmp.extract_global("ntimestep"))
        # LAMMPS accumulates elapsed time in atime at atimestep (updated when dt changes).
        atime = float(lmp.extract_global("atime"))
        atimestep = int(lmp.extract_global("atimestep"))
        return step, atime + (step - atimestep) * float(lmp.extract_global("dt"))

    # -- running -------------------------------------------------------------------
    def run(self, steps: int, *, start: int | None = None, stop: int | None = None, setup: bool = True,
            post: bool = False) -> None:
        """Advance ``steps`` MD steps (0: compute the current state only).

        ``start``/``stop`` tell fixes that ramp (thermostat targets, heat
        fluxes) the span the run belongs to, so a span split into chunks ramps
        as one. ``setup=False`` skips LAMMPS's re-initialisation between chunks
        of one span (nothing may have changed in between); ``post`` prints
        LAMMPS's timing summary in its log.
        """
        if steps < 0:
            raise ValueError(f"cannot run {steps} steps")
        words = [f"run {int(steps)}"]
        if start is not None:
            words.append(f"start {int(start)} stop {int(stop if stop is not None else start + steps)}")
        words.append(f"pre {'yes' if setup else 'no'} post {'yes' if post else 'no'}")
        self.command(" ".join(words))

    def flush(self) -> None:
        """Flush LAMMPS's log and screen buffers (a reader may be following the log)."""
        self.lmp.flush_buffers()

    def variable(self, name: str) -> float:
        """The value of an equal-style variable, evaluated now."""
        try:
            return float(self.lmp.extract_variable(name))
        except Exception as exc:  # noqa: BLE001 - lammps raises bare Exception subclasses
            raise LammpsError(str(getattr(exc, "message", exc)), command=f"extract variable {name}") from exc

    def ids(self, category: str) -> list[str]:
        """IDs currently defined in ``category`` (``fix``, ``compute``, ``group``, ``variable``...)."""
        return [name for name in self.lmp.available_ids(category) if name]

    # -- raw commands --------------------------------------------------------------
    def command(self, text: str) -> None:
        """Run one LAMMPS command; failures raise LammpsError with LAMMPS's message."""
        self.transcript.append(text)
        try:
            self.lmp.command(text)
        except Exception as exc:  # noqa: BLE001 - lammps raises bare Exception subclasses
            message = getattr(exc, "message", None) or str(exc)
            error = LammpsError(str(message), command=text)
            # MPIAbortException: one rank failed alone; the others cannot be trusted.
            error.fatal = type(exc).__name__ == "MPIAbortException"
            raise error from exc

    def commands(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.command(line)

    def has_style(self, category: str, name: str) -> bool:
        return bool(self.lmp.has_style(category, name))

    # -- system --------------------------------------------------------------------
    def create_system(
        self,
        atoms: Atoms,
        species: Sequence[str] | None = None,
        *,
        label: str = "structure",
        masses: dict[str, float] | None = None,
        newton: bool = True,
        orthogonal: bool = False,
    ) -> None:
        """Replace whatever is loaded by ``atoms`` (types follow ``species`` order).

        ``species`` defaults to the sorted unique symbols; pass the potential's
        element order to keep type numbers stable across structures.
        ``newton=False`` runs pair and bond interactions with ``newton off``
        (set here because LAMMPS takes it only before the box exists; ``newton
        off on`` is no substitute: any flag on turns reverse communication on,
        which double-counts ghost forces of a pair style running newton off).
        ``orthogonal=True`` makes a cell without tilt an orthogonal LAMMPS box
        (some fixes, e.g. ``fix ttm``, refuse a triclinic one even with zero
        tilt); by default every box is triclinic, so an NPT stage may couple ``tri``.
        """
        symbols = atoms.get_chemical_symbols()
        species = tuple(species) if species is not None else tuple(sorted(set(symbols)))
        unknown = sorted(set(symbols) - set(species))
        if unknown:
            raise InputDataError(f"{label}: element(s) {', '.join(unknown)} not in species list {list(species)}")
        if len(atoms) == 0:
            raise InputDataError(f"{label}: structure has no atoms")
        box = lammps_box(atoms, label)
        positions = box.to_lammps(atoms.get_positions())
        wrapped, images = wrap_positions(positions, box)

        lx, ly, lz = box.lengths_A
        xy, xz, yz = box.tilts_A
        ox, oy, oz = box.origin_A
        boundary = " ".join("p" if p else "s" for p in box.pbc)
        self.command("clear")
        if not newton:
            self.command("newton off")
        self.commands(["units metal", "atom_style atomic", "atom_modify map yes", f"boundary {boundary}"])
        bounds = (ox, ox + lx, oy, oy + ly, oz, oz + lz, xy, xz, yz)
        shape = "block" if orthogonal and not box.triclinic else "prism"
        bounds = bounds[:6] if shape == "block" else bounds
        self.command(f"region simkit_box {shape} " + " ".join(lammps_number(v) for v in bounds) + " units box")
        self.command(f"create_box {len(species)} simkit_box")
        masses = masses or {}
        for index, name in enumerate(species, start=1):
            mass = masses.get(name)
            if mass is None:
                if name not in atomic_numbers:
                    raise InputDataError(f"{label}: species {name!r} is not an element; give its mass")
                mass = float(atomic_masses[atomic_numbers[name]])
            self.command(f"mass {index} {lammps_number(mass)}")

        type_of = {name: index for index, name in enumerate(species, start=1)}
        types = [type_of[s] for s in symbols]
        ids = list(range(1, len(atoms) + 1))
        velocities = None
        if atoms.has("momenta"):
            velocities = (box.to_lammps(atoms.get_velocities()) * A_PER_PS_PER_ASE_VELOCITY).ravel().tolist()
        created = self.lmp.create_atoms(
            len(atoms), ids, types, wrapped.ravel().tolist(), velocities,
            self._encode_images(images), shrinkexceed=not all(box.pbc),
        )
        if self.natoms != len(atoms) or created is None:
            raise InputDataError(
                f"{label}: LAMMPS accepted {self.natoms} of {len(atoms)} atoms (atoms outside a non-periodic box?)"
            )
        self.species = species
        self.box = box
        self.potential = None
        self.command(f"compute {_VIRIAL_COMPUTE} all pressure NULL virial")
        self.set_thermo(every=0)
        log.debug("created %d atoms of %s in a %s box", len(atoms), species, "triclinic" if box.triclinic else "orthogonal")

    def update_system(self, atoms: Atoms, *, label: str = "structure", box: LammpsBox | None = None) -> None:
        """Give the loaded system the cell and positions of ``atoms`` in place (potential and fixes kept).

        ``atoms`` holds the loaded atoms in atom-ID order with the same
        periodicity; anything else needs :meth:`create_system`. Image flags are
        set as :meth:`create_system` sets them; velocities are left alone.
        ``box``: ``lammps_box(atoms)`` if the caller has computed it already.
        """
        if self.box is None:
            raise RuntimeError("update_system() needs create_system() first")
        pbc = tuple(bool(p) for p in atoms.pbc)
        if len(atoms) != self.natoms or pbc != self.box.pbc:
            raise InputDataError(f"{label}: {len(atoms)} atoms with pbc {pbc} cannot replace the loaded "
                                 f"{self.natoms} with pbc {self.box.pbc} in place; create the system anew")
        box = box if box is not None else lammps_box(atoms, label)
        if box.triclinic and not int(self.lmp.extract_setting("triclinic")):
            raise InputDataError(f"{label}: a tilted cell needs a triclinic box; this one was created orthogonal")
        wrapped, images = wrap_positions(box.to_lammps(atoms.get_positions()), box)
        encoded = self._encode_images(images)
        lo = np.asarray(box.origin_A)
        hi = lo + np.asarray(box.lengths_A)
        words = ["change_box all",
                 *(f"{axis} final {lammps_number(lo[i])} {lammps_number(hi[i])}" for i, axis in enumerate("xyz"))]
        if int(self.lmp.extract_setting("triclinic")):
            words += [f"{name} final {lammps_number(value)}" for name, value in zip(("xy", "xz", "yz"), box.tilts_A)]
        # The box first: change_box wraps atoms into each intermediate box, which would shift scattered positions.
        self.command(" ".join([*words, "units box"]))
        self.lmp.scatter("x", 1, 3, np.ctypeslib.as_ctypes(np.ascontiguousarray(wrapped, dtype=np.float64).ravel()))
        self.lmp.scatter("image", 0, 1, (self.lmp.c_imageint * len(encoded))(*encoded))
        if self.size > 1:
            # A run's setup passes atoms only to neighbouring ranks; change_box migrates them any distance.
            self.command(f"change_box all x final {lammps_number(lo[0])} {lammps_number(hi[0])} units box")
        self.box = box

    def read_restart(self, path: str, species: Sequence[str], box: LammpsBox) -> None:
        """Replace whatever is loaded by the system of a LAMMPS restart file (``path`` as LAMMPS reads it).

        ``species`` and ``box`` are those of the system first made by
        :meth:`create_system` (type order; rotation into the ASE frame and
        periodicity). The potential must be set again afterwards.
        """
        self.command("clear")
        self.command("atom_modify map yes")
        self.command(f"read_restart {path}")
        ntypes = int(self.lmp.extract_setting("ntypes"))
        if ntypes != len(species):
            raise InputDataError(f"restart file {path} has {ntypes} atom types, expected {len(species)} ({list(species)})")
        self.species = tuple(species)
        self.box = box
        self.potential = None
        self.command(f"compute {_VIRIAL_COMPUTE} all pressure NULL virial")
        self.set_thermo(every=0)

    def _image_codec(self) -> tuple[int, int]:
        """(bits per field, offset) of LAMMPS's packed image flags, read from the library."""
        enc = self.lmp.encode_image_flags
        bits = (int(enc(0, 1, 0)) - int(enc(0, 0, 0))).bit_length() - 1
        offset = int(enc(0, 0, 0)) & ((1 << bits) - 1)
        return bits, offset

    def _encode_images(self, images: np.ndarray) -> list[int]:
        bits, offset = self._image_codec()
        if np.abs(images).max(initial=0) >= offset:
            raise InputDataError(f"atoms lie {offset} or more periodic images away from the cell; wrap them first")
        shifted = images.astype(np.int64) + offset
        return (shifted[:, 0] | (shifted[:, 1] << bits) | (shifted[:, 2] << (2 * bits))).tolist()

    def set_potential(self, potential: Potential) -> None:
        """Install ``potential`` for the current species (loads simkit's plugins if needed)."""
        if not self.species:
            raise RuntimeError("create_system() must come before set_potential()")
        style = potential.pair_style(self.species)
        self._ensure_styles(style)
        self.commands(_format_command(style))
        self.potential = potential

    def _ensure_styles(self, style: PairStyle) -> None:
        needed = dict.fromkeys([*style.requires, style.style])
        for name in needed:
            if name.startswith("hybrid") or self.has_style("pair", name):
                continue
            if name == "pace":
                self.pace_source = pace_plugin.ensure_pace(self.lmp)
                continue
            raise BackendSetupError(
                f"pair_style {name} is not available in this LAMMPS (version {self.version}); "
                f"installed packages: {', '.join(self.lmp.installed_packages)}"
            )

    def set_thermo(self, every: int, extra: Sequence[str] = ()) -> None:
        """Thermo output every ``every`` steps (0: first and last step of a run only)."""
        virial = [f"c_{_VIRIAL_COMPUTE}[{i}]" for i in range(1, 7)]
        self.command(" ".join(["thermo_style custom", *_THERMO_KEYS, *virial, *extra]))
        self.command("thermo_modify norm no flush yes")
        self.command(f"thermo {int(every)}")

    # -- evaluation ----------------------------------------------------------------
    def evaluate(self, *, per_atom: bool = False) -> Evaluation:
        """Energy, forces and stress of the loaded system with the loaded potential."""
        if self.potential is None or self.box is None:
            raise RuntimeError("evaluate() needs create_system() and set_potential() first")
        if per_atom:
            self.commands([
                f"compute {_PE_ATOM_COMPUTE} all pe/atom",
                f"compute {_STRESS_ATOM_COMPUTE} all stress/atom NULL virial",
            ])
        try:
            self.run(0)
            # Read fresh values: last_thermo() is not refreshed by a second 'run 0' at the same step.
            energy = float(self.lmp.get_thermo("pe"))
            volume = float(self.lmp.get_thermo("vol"))
            pressure_bar = self.global_vector(_VIRIAL_COMPUTE, 6)
            forces = self.gather("f", 3)
            energies = virials = None
            if per_atom:
                energies = self.gather(f"c_{_PE_ATOM_COMPUTE}", 1)
                # stress/atom is -(virial) per atom in pressure*volume units; back to eV.
                six = -self.gather(f"c_{_STRESS_ATOM_COMPUTE}", 6) / self.pressure_per_energy_density
                virials = np.array([self.box.tensor_from_lammps(_tensor_from_six(row)) for row in six])
        finally:
            if per_atom:
                self.commands([f"uncompute {_PE_ATOM_COMPUTE}", f"uncompute {_STRESS_ATOM_COMPUTE}"])
        stress_lammps = -_tensor_from_six(pressure_bar) / self.pressure_per_energy_density
        return Evaluation(
            energy_eV=energy,
            forces_eV_per_A=self.box.from_lammps(forces),
            stress_eV_per_A3=self.box.tensor_from_lammps(stress_lammps),
            volume_A3=volume,
            energies_eV=energies,
            virials_eV=virials,
        )

    @property
    def pressure_per_energy_density(self) -> float:
        """LAMMPS's own bar per eV/Å^3 (``nktv2p``); using it keeps virials exact to LAMMPS's numbers."""
        return float(self.lmp.extract_global("nktv2p"))

    def _global_compute(self, compute_id: str, kind: str) -> np.ndarray:
        """A copy of the global ``kind`` ("vector" or "array") of compute ``compute_id`` (computed now if stale)."""
        # lazy: the lammps module loads only through a session (lammps_module: after the MPI preload)
        import lammps

        lmp_type = lammps.LMP_TYPE_ARRAY if kind == "array" else lammps.LMP_TYPE_VECTOR
        try:
            values = self.lmp.numpy.extract_compute(compute_id, lammps.LMP_STYLE_GLOBAL, lmp_type)
        except Exception as exc:  # noqa: BLE001
            raise LammpsError(str(getattr(exc, "message", exc)), command=f"extract compute {compute_id}") from exc
        if values is None:
            raise LammpsError(f"compute {compute_id} has no global {kind}")
        return np.array(values, dtype=float)

    def fix_scalar(self, fix_id: str) -> float:
        """The global scalar of fix ``fix_id`` (e.g. the energy ``fix electron/stopping`` has removed)."""
        return self._fix_global(fix_id, None)

    def fix_vector(self, fix_id: str, index: int) -> float:
        """Element ``index`` (0-based) of the global vector of fix ``fix_id``."""
        return self._fix_global(fix_id, index)

    def _fix_global(self, fix_id: str, index: int | None) -> float:
        # lazy: the lammps module loads only through a session (lammps_module: after the MPI preload)
        import lammps

        kind = lammps.LMP_TYPE_SCALAR if index is None else lammps.LMP_TYPE_VECTOR
        where = fix_id if index is None else f"{fix_id}[{index}]"
        try:
            return float(self.lmp.extract_fix(fix_id, lammps.LMP_STYLE_GLOBAL, kind, 0 if index is None else index))
        except Exception as exc:  # noqa: BLE001 - lammps raises bare Exception subclasses
            raise LammpsError(str(getattr(exc, "message", exc)), command=f"extract fix {where}") from exc

    def global_array(self, compute_id: str) -> np.ndarray:
        """The global array of compute ``compute_id`` (computed now if not current), copied."""
        return self._global_compute(compute_id, "array")

    def global_vector(self, compute_id: str, length: int) -> np.ndarray:
        """The first ``length`` values of the global vector of compute ``compute_id`` (computed now if stale)."""
        return self._global_compute(compute_id, "vector")[:length]

    def thermo(self) -> dict[str, float]:
        """The last thermo line as a dict keyed by thermo_style keyword (pe, temp, c_ID[1], ...).

        Valid after a run that advanced the step (as MD chunks do); for a static
        evaluation use :meth:`evaluate`, which reads fresh values.
        """
        values = self.lmp.last_thermo()
        if values is None:
            raise RuntimeError("no thermo output yet: run at least 'run 0'")
        return {_THERMO_HEADERS.get(key, key): float(value) for key, value in values.items()}

    def gather(self, name: str, count: int) -> np.ndarray:
        """A per-atom quantity from all ranks, in atom-ID order: shape (N,) or (N, count).

        ``name`` is an atom property (``x``, ``v``, ``f``, ``image``) or ``c_ID``,
        ``f_ID``, ``v_name``. Every rank of the communicator must call it.
        """
        integer = name in ("image", "type", "id")
        try:
            raw = self.lmp.gather(name, 0 if integer else 1, count)
        except Exception as exc:  # noqa: BLE001
            raise LammpsError(str(getattr(exc, "message", exc)), command=f"gather {name}") from exc
        array = np.ctypeslib.as_array(raw).copy()
        return array.reshape(-1, count) if count > 1 else array

    def positions(self, unwrapped: bool = False) -> np.ndarray:
        """Atom positions in the ASE frame (Å); ``unwrapped`` applies image flags."""
        x = self.gather("x", 3)
        if unwrapped:
            x = x + self.image_flags() @ self.current_cell_lammps()
        return self.box.from_lammps(x)

    def image_flags(self) -> np.ndarray:
        """Periodic image flags (N, 3) in atom-ID order."""
        return self.decode_images(self.gather("image", 1))

    def decode_images(self, raw: np.ndarray) -> np.ndarray:
        """(N, 3) image flags from LAMMPS's packed per-atom ``image`` integers."""
        bits, offset = self._image_codec()
        raw = np.asarray(raw, dtype=np.int64)
        mask = (1 << bits) - 1
        return np.stack([raw & mask, (raw >> bits) & mask, raw >> (2 * bits)], axis=1) - offset

    def bounds_A(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) corners of the LAMMPS box now (Å, LAMMPS frame)."""
        boxlo, boxhi, *_ = self.lmp.extract_box()
        return np.array(boxlo, dtype=float), np.array(boxhi, dtype=float)

    def current_cell_lammps(self) -> np.ndarray:
        boxlo, boxhi, xy, yz, xz, _, _ = self.lmp.extract_box()
        lx, ly, lz = (boxhi[i] - boxlo[i] for i in range(3))
        return np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])

    def to_atoms(self, unwrapped: bool = False) -> Atoms:
        """The current configuration as ASE Atoms (positions, cell, velocities)."""
        types = self.gather("type", 1)
        cell = self.box.from_lammps(self.current_cell_lammps())
        atoms = Atoms(
            symbols=[self.species[t - 1] for t in types],
            positions=self.positions(unwrapped=unwrapped),
            cell=cell,
            pbc=self.box.pbc,
        )
        atoms.set_velocities(self.box.from_lammps(self.gather("v", 3)) / A_PER_PS_PER_ASE_VELOCITY)
        return atoms


def evaluate_structures(
    structures: Sequence[Atoms],
    potential: Potential,
    *,
    comm=None,
    species: Sequence[str] | None = None,
    per_atom: bool = False,
) -> list[Evaluation]:
    """Evaluate each structure with ``potential`` in one LAMMPS session."""
    species = tuple(species or potential.elements or sorted({s for a in structures for s in a.get_chemical_symbols()}))
    results = []
    with LammpsSession(comm) as session:
        for index, atoms in enumerate(structures):
            session.create_system(atoms, species, label=f"structure {index}")
            session.set_potential(potential)
            results.append(session.evaluate(per_atom=per_atom))
    return results
