"""Any simkit potential as an ASE calculator, evaluated by the same LAMMPS setup simkit runs.

One :class:`~simkit.lammps.session.LammpsSession` lives as long as the
calculator, so a call costs about one ``run 0``: while the atoms keep their
number, species order and periodicity, each call moves the loaded system in
place (new cell through ``change_box``, positions scattered by atom ID, image
flags reset); a change of any of those rebuilds the system.

Conventions (ASE's, so phonopy, optimisers, NEB and filters use it unchanged):

* energy and free_energy in eV, forces in eV/Å, per-atom ``energies`` in eV
  (computed only when asked for: they need two extra per-atom computes);
* stress in eV/Å^3, Voigt order xx yy zz yz xz xy, positive = tensile, i.e.
  minus LAMMPS's virial pressure tensor converted from bar; no kinetic part;
* a cell that is not lower triangular is rotated into LAMMPS's frame and forces
  and stress are rotated back (the session's :class:`~simkit.lammps.structure.LammpsBox`);
  the LAMMPS box is orthogonal until the first tilted cell, then a prism;
* a non-periodic axis is a shrink-wrapped LAMMPS boundary (``s``), so no atom
  can leave through it; stress then divides the virial by the volume of the ASE
  cell (vacuum included, as ASE's own calculators do) and is refused for a cell
  of zero volume;
* a cell smaller than the cutoff needs nothing special: LAMMPS makes as many
  periodic ghost images as the cutoff needs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.data import chemical_symbols

from simkit.errors import InputDataError, LammpsError
from simkit.lammps.potentials.base import Potential
from simkit.lammps.session import Evaluation, LammpsSession
from simkit.lammps.structure import lammps_box

log = logging.getLogger(__name__)

# A cell with less volume than this (Å^3) has no stress to report.
_MIN_VOLUME_A3 = 1e-9


@dataclass(frozen=True)
class _Loaded:
    """What decides whether the system in LAMMPS can be updated in place."""

    numbers: bytes  # atomic numbers in atom order, as raw int64 (cheap to compare for 10^5 atoms)
    pbc: tuple[bool, bool, bool]


def potential_name(potential: Potential) -> str:
    """A short name for messages: the kind and the model files (``snap Si.snapcoeff+Si.snapparam``)."""
    kind = getattr(potential, "kind", type(potential).__name__)
    files = "+".join(path.name for path in potential.files())
    return f"{kind} {files}" if files else str(kind)


class SimkitCalculator(Calculator):
    """ASE calculator for ``potential`` (any simkit :class:`~simkit.lammps.potentials.base.Potential`).

    ``comm``: mpi4py communicator for LAMMPS (default: LAMMPS's own); every
    rank must make the same calls. ``log_path``: LAMMPS log file (default
    none). Use as a context manager or call :meth:`close` to free LAMMPS.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies"]

    def __init__(self, potential: Potential, *, comm=None, log_path=None, **kwargs):
        super().__init__(**kwargs)
        self.potential = potential
        self.name_of_potential = potential_name(potential)
        self._comm = comm
        self._log_path = log_path
        self._session: LammpsSession | None = None
        self._loaded: _Loaded | None = None
        self._triclinic = False  # whether the loaded LAMMPS box is a prism
        self._closed = False
        self.calls = 0
        self.rebuilds = 0

    # -- lifecycle -----------------------------------------------------------------
    def __enter__(self) -> "SimkitCalculator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Free the LAMMPS instance; later calls raise RuntimeError (as a closed session does)."""
        self._discard_session()
        self._closed = True
        self.reset()  # cached results would answer for a calculator that can no longer compute

    @property
    def closed(self) -> bool:
        return self._closed

    def _discard_session(self) -> None:
        if self._session is not None:
            self._session.close()
        self._session = None
        self._loaded = None

    # -- ASE interface -------------------------------------------------------------
    def calculate(self, atoms: Atoms | None = None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        self.calls += 1
        where = f"SimkitCalculator({self.name_of_potential}), call {self.calls} ({len(atoms)} atoms)"
        try:
            species = self._check(atoms, where)
            per_atom = "energies" in properties
            evaluation = self._evaluate(atoms, species, where, per_atom)
            self.results = self._results(atoms, evaluation, properties, where)
        except BaseException:
            # No half-finished results, and the next call compares against nothing stale.
            self.reset()
            raise

    def _check(self, atoms: Atoms, where: str) -> tuple[str, ...]:
        """The species (LAMMPS type order) for ``atoms``; refuses what LAMMPS would choke on."""
        if self._closed:
            raise RuntimeError(f"{where}: the calculator is closed")
        if len(atoms) == 0:
            raise InputDataError(f"{where}: the Atoms object has no atoms")
        bad = np.flatnonzero(~np.isfinite(atoms.positions).all(axis=1))
        if bad.size:
            shown = ", ".join(str(i) for i in bad[:5]) + (" ..." if bad.size > 5 else "")
            raise InputDataError(f"{where}: position of atom(s) {shown} is not finite")
        if not np.isfinite(atoms.cell.array).all():
            raise InputDataError(f"{where}: the cell is not finite: {atoms.cell.array.tolist()}")
        present = {chemical_symbols[z] for z in np.unique(atoms.numbers)}  # not per atom: 10^5 atoms stay cheap
        covered = self.potential.elements
        if covered is None:
            # A potential for any element (ZBL alone): types follow the atoms' own elements.
            return tuple(sorted(present))
        missing = sorted(present - set(covered))
        if missing:
            raise InputDataError(f"{where}: the potential has no parameters for element(s) {', '.join(missing)} "
                                 f"(it covers {', '.join(covered)})")
        return tuple(covered)

    def _evaluate(self, atoms: Atoms, species: tuple[str, ...], where: str, per_atom: bool) -> Evaluation:
        wanted = _Loaded(atoms.numbers.astype(np.int64).tobytes(), tuple(bool(p) for p in atoms.pbc))
        try:
            if self._session is None:
                self._session = LammpsSession(self._comm, log_path=self._log_path)
            session = self._session
            box = lammps_box(atoms, where)
            # An orthogonal LAMMPS box runs EAM about 1.5x faster than a triclinic one; the first
            # tilted cell turns it triclinic for good (one rebuild), so a relaxation rebuilds once.
            tilted = box.triclinic
            if wanted == self._loaded and session.species == species and (self._triclinic or not tilted):
                session.update_system(atoms, label=where, box=box)
            else:
                self._loaded = None
                session.create_system(atoms, species, label=where, orthogonal=not tilted)
                session.set_potential(self.potential)
                self._triclinic = tilted
                self.rebuilds += 1
                log.debug("%s: built %s in a %s box", where, atoms.get_chemical_formula(),
                          "triclinic" if tilted else "orthogonal")
            self._loaded = wanted
            return session.evaluate(per_atom=per_atom)
        except LammpsError as exc:
            if exc.fatal:
                # A rank that failed alone cannot join LAMMPS's collective close; the caller aborts them all.
                self._session, self._loaded, self._closed = None, None, True
            else:
                # LAMMPS's state after a failure is unknown: a fresh instance serves the next call.
                self._discard_session()
            error = LammpsError(exc.lammps_message, command=exc.command)
            error.args = (f"{where}: {error}" + (" (calculator closed: a rank aborted)" if exc.fatal else ""),)
            error.fatal = exc.fatal
            raise error from exc
        except BaseException:
            self._loaded = None  # e.g. create_system refused the atoms after 'clear'
            raise

    def _results(self, atoms: Atoms, evaluation: Evaluation, properties, where: str) -> dict:
        energy = float(evaluation.energy_eV)
        results = {"energy": energy, "free_energy": energy, "forces": evaluation.forces_eV_per_A}
        if evaluation.energies_eV is not None:
            results["energies"] = evaluation.energies_eV
        stress = self._stress(atoms, evaluation)
        if stress is not None:
            results["stress"] = stress
        elif "stress" in properties:
            raise InputDataError(f"{where}: stress needs a cell of non-zero volume "
                                 f"(pbc {atoms.pbc.tolist()}, cell {atoms.cell.lengths().round(6).tolist()} Å)")
        return results

    @staticmethod
    def _stress(atoms: Atoms, evaluation: Evaluation) -> np.ndarray | None:
        """Voigt stress in the ASE frame; None where the ASE cell has no volume."""
        tensor = evaluation.stress_eV_per_A3
        if not atoms.pbc.all():
            # LAMMPS divides by its shrink-wrapped box; ASE's convention is the cell given.
            volume_A3 = abs(atoms.cell.volume)
            if volume_A3 < _MIN_VOLUME_A3:
                return None
            tensor = -evaluation.virial_eV / volume_A3
        return np.array([tensor[0, 0], tensor[1, 1], tensor[2, 2], tensor[1, 2], tensor[0, 2], tensor[0, 1]])
