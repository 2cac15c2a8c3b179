"""Cross-check an ACE potential: LAMMPS with simkit's pace plugin against pyace.

``simkit ace check MODEL.yace`` evaluates a few structures both ways and
reports the largest differences in energy per atom (eV/atom), force
components (eV/Angstrom) and virial components (eV).  Agreement to round-off
shows the plugin reproduces the reference evaluator for this very file
(radial basis, splines, embedding, core repulsion).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from ase.build import bulk
from ase.data import atomic_numbers, covalent_radii
from ase.io import read

from simkit.errors import BackendSetupError, InputDataError
from simkit.io.yace import YaceModel, load_yace
from simkit.lammps.potentials import PairCoeff, PairStyle
from simkit.lammps.session import LammpsSession

DEFAULT_TOLERANCES = {"energy_eV_per_atom": 1e-8, "force_eV_per_A": 1e-7, "virial_eV": 1e-6}


@dataclass(frozen=True)
class Evaluation:
    energy_eV: float
    forces_eV_per_A: np.ndarray  # (n, 3)
    energies_eV: np.ndarray  # (n,)
    virial_eV: np.ndarray | None  # (3, 3); sum_i r_i (x) f_i convention


@dataclass(frozen=True)
class StructureResult:
    name: str
    natoms: int
    energy_eV_per_atom: float
    energy_diff_eV_per_atom: float
    atom_energy_diff_eV: float
    force_diff_eV_per_A: float
    virial_diff_eV: float  # nan when the structure has no periodic cell


@dataclass
class CheckReport:
    model: Path
    elements: tuple[str, ...]
    results: list[StructureResult] = field(default_factory=list)

    def _max(self, attr: str) -> float:
        values = [getattr(r, attr) for r in self.results if np.isfinite(getattr(r, attr))]
        return max(values) if values else float("nan")

    @property
    def max_energy_diff_eV_per_atom(self) -> float:
        return self._max("energy_diff_eV_per_atom")

    @property
    def max_force_diff_eV_per_A(self) -> float:
        return self._max("force_diff_eV_per_A")

    @property
    def max_virial_diff_eV(self) -> float:
        return self._max("virial_diff_eV")

    def passed(self, energy_eV_per_atom: float = 1e-8, force_eV_per_A: float = 1e-7, virial_eV: float = 1e-6) -> bool:
        virial = self.max_virial_diff_eV
        return (
            self.max_energy_diff_eV_per_atom <= energy_eV_per_atom
            and self.max_force_diff_eV_per_A <= force_eV_per_A
            and (not np.isfinite(virial) or virial <= virial_eV)
        )

    def format(self) -> str:
        head = f"{'structure':<24} {'atoms':>6} {'E (eV/atom)':>14} {'|dE|/N':>10} {'|dE_i|':>10} {'|dF|':>10} {'|dW|':>10}"
        lines = [f"ACE check of {self.model} ({', '.join(self.elements)}): LAMMPS+plugin vs pyace", head]
        for r in self.results:
            lines.append(
                f"{r.name:<24} {r.natoms:>6} {r.energy_eV_per_atom:>14.6f} {r.energy_diff_eV_per_atom:>10.2e} "
                f"{r.atom_energy_diff_eV:>10.2e} {r.force_diff_eV_per_A:>10.2e} {r.virial_diff_eV:>10.2e}"
            )
        lines.append(
            f"largest differences: energy {self.max_energy_diff_eV_per_atom:.2e} eV/atom, "
            f"force {self.max_force_diff_eV_per_A:.2e} eV/A, virial {self.max_virial_diff_eV:.2e} eV"
        )
        return "\n".join(lines)


# --------------------------------------------------------------------------- structures


def _reference_bulk(symbol: str):
    try:
        atoms = bulk(symbol, cubic=True)
    except Exception:  # noqa: BLE001 - ASE has no cubic cell for this element (or none at all)
        number = atomic_numbers.get(symbol)
        radius = covalent_radii[number] if number else 1.2
        atoms = bulk("Cu", "fcc", a=2.0 * radius * np.sqrt(2.0), cubic=True)
        atoms.set_chemical_symbols([symbol] * len(atoms))
    return atoms


def _decorate(atoms, elements: Sequence[str], rng: np.random.Generator):
    """Repeat to >= 32 atoms and spread every element of the model over the sites."""
    reps = 1
    while len(atoms) * reps**3 < 32:
        reps += 1
    atoms = atoms.repeat((reps, reps, reps))
    if len(elements) > 1:
        symbols = [elements[i % len(elements)] for i in range(len(atoms))]
        rng.shuffle(symbols)
        atoms.set_chemical_symbols(symbols)
    return atoms


def default_structures(model: YaceModel, seed: int = 0) -> dict:
    """Rattled bulk, surface slab and compressed cell containing all of the model's elements."""
    rng = np.random.default_rng(seed)
    elements = list(model.elements)
    base = _decorate(_reference_bulk(elements[0]), elements, rng)

    rattled = base.copy()
    rattled.rattle(0.05, seed=int(rng.integers(1 << 31)))

    slab = base.copy()
    slab.center(vacuum=6.0, axis=2)
    slab.rattle(0.03, seed=int(rng.integers(1 << 31)))

    compressed = base.copy()
    strain = np.eye(3) * 0.93 + np.array([[0.0, 0.02, 0.0], [0.0, 0.0, 0.01], [0.0, 0.0, 0.0]])
    compressed.set_cell(compressed.cell.array @ strain, scale_atoms=True)
    compressed.rattle(0.03, seed=int(rng.integers(1 << 31)))
    return {"rattled bulk": rattled, "surface slab": slab, "compressed cell": compressed}


# --------------------------------------------------------------------------- LAMMPS side


class _PaceFile:
    """``pair_style pace`` on a .yace path exactly as given, checked by the plugin alone.

    Not :class:`simkit.lammps.potentials.ace.AcePotential`: that one reads the
    file in Python first, while the check must surface the plugin's own errors
    for broken or missing files and for elements the file lacks.
    """

    kind = "ace"
    elements = None  # whatever the system's species are; the plugin refuses ones the file lacks

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @property
    def cutoff_A(self) -> float:
        return float("nan")  # unknown without reading the file; the session never asks

    def pair_style(self, species: Sequence[str]) -> PairStyle:
        return PairStyle("pace", (), (PairCoeff("*", "*", (str(self.path), *species)),), requires=("pace",))

    def files(self) -> tuple[Path, ...]:
        return (self.path,)

    def describe(self) -> dict:
        return {"kind": self.kind, "files": [str(self.path)]}


def evaluate_lammps(model_path: str | Path, atoms, elements: Sequence[str], newton: bool = True, comm=None,
                    *, label: str = "structure") -> Evaluation:
    """Energy, forces, per-atom energies and virial of ``atoms`` from LAMMPS + ``pair_style pace``.

    ``elements`` gives the LAMMPS type order; ``label`` names the structure in errors.
    """
    if not all(atoms.pbc) or atoms.cell.rank < 3:
        # pyace's reference virial needs a volume, so both sides get a periodic cell
        raise InputDataError(f"{label}: the ACE check needs a fully periodic cell (give vacuum for slabs and clusters)")
    unknown = sorted(set(atoms.get_chemical_symbols()) - set(elements))
    if unknown:
        raise InputDataError(f"{label}: structure contains {', '.join(unknown)} which the potential does not define")
    with LammpsSession(comm) as session:
        session.create_system(atoms, tuple(elements), label=label, newton=newton)
        session.set_potential(_PaceFile(model_path))
        result = session.evaluate(per_atom=True)
    return Evaluation(result.energy_eV, result.forces_eV_per_A, result.energies_eV, result.virial_eV)


# --------------------------------------------------------------------------- pyace side


def evaluate_pyace(model_path: str | Path, atoms, recursive: bool = False) -> Evaluation:
    """The same quantities from python-ace's reference evaluator."""
    try:  # lazy: pyace is an optional extra, needed only for the reference side
        from pyace import PyACECalculator
    except ImportError as exc:
        raise BackendSetupError(f"python-ace (pyace) is needed as the reference: {exc}") from exc
    calc = PyACECalculator(str(model_path), recursive_evaluator=recursive, recursive=recursive)
    calc.compute_projections = False
    work = atoms.copy()
    work.calc = calc
    energy = float(work.get_potential_energy())
    forces = np.array(work.get_forces())
    energies = np.array(calc.results["energies"])
    s = work.get_stress(voigt=False)
    return Evaluation(energy, forces, energies, -s * work.get_volume())


# --------------------------------------------------------------------------- driver


def compare(name: str, reference: Evaluation, candidate: Evaluation, natoms: int) -> StructureResult:
    virial = float("nan")
    if reference.virial_eV is not None and candidate.virial_eV is not None:
        virial = float(np.abs(reference.virial_eV - candidate.virial_eV).max())
    return StructureResult(
        name=name,
        natoms=natoms,
        energy_eV_per_atom=reference.energy_eV / natoms,
        energy_diff_eV_per_atom=abs(reference.energy_eV - candidate.energy_eV) / natoms,
        atom_energy_diff_eV=float(np.abs(reference.energies_eV - candidate.energies_eV).max()),
        force_diff_eV_per_A=float(np.abs(reference.forces_eV_per_A - candidate.forces_eV_per_A).max()),
        virial_diff_eV=virial,
    )


def read_structures(paths: Sequence[str | Path]) -> dict:
    """Every frame of every file (any format ASE reads), named file[:frame]."""
    out = {}
    for path in paths:
        try:
            frames = read(str(path), index=":", parallel=False)
        except Exception as exc:  # ASE raises many types for unreadable files
            raise InputDataError(f"{path}: cannot read structures ({exc})") from exc
        for i, frame in enumerate(frames):
            out[f"{Path(path).name}" + (f":{i}" if len(frames) > 1 else "")] = frame
    if not out:
        raise InputDataError("no structures found in " + ", ".join(str(p) for p in paths))
    return out


def check_model(model_path: str | Path, structures: dict | None = None, newton: bool = True) -> CheckReport:
    """Evaluate ``structures`` (default: :func:`default_structures`) both ways and report differences."""
    model_path = Path(model_path).resolve()
    model = load_yace(model_path)
    if structures is None:
        structures = default_structures(model)
    report = CheckReport(model_path, model.elements)
    for name, atoms in structures.items():
        reference = evaluate_pyace(model_path, atoms)
        candidate = evaluate_lammps(model_path, atoms, list(model.elements), newton=newton, label=name)
        report.results.append(compare(name, reference, candidate, len(atoms)))
    return report
