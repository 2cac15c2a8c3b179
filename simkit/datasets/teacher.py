"""Labelled data from a teacher potential: rattled, strained and molten cells.

Used to generate test and example datasets without DFT: a published potential
(e.g. a SNAP file shipped with LAMMPS) plays the reference method, so a fitted
model can be judged against known ground truth.

This is simkit's one labelling path: :func:`label_structures` evaluates
structures with a LAMMPS potential and :func:`labelled_frame` turns a
structure and its :class:`Label` into a :class:`~simkit.datasets.frames.Frame`.
``simkit.distil`` builds its teachers and datasets on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from ase import Atoms

from simkit.datasets.frames import Dataset, Frame
from simkit.lammps import dynamics
from simkit.lammps.potentials.base import Potential
from simkit.lammps.session import LammpsSession, evaluate_structures
from simkit.units import steps_for


@dataclass
class Label:
    """A teacher's reference values for one structure (ASE frame and atom order)."""

    energy_eV: float
    forces_eV_per_A: np.ndarray  # (N, 3)
    virial_eV: np.ndarray  # (3, 3), W = -stress * volume


def bare(atoms: Atoms) -> Atoms:
    """Species, positions, cell and pbc only: no calculator, constraints or velocities to carry along."""
    return Atoms(atoms.get_chemical_symbols(), atoms.positions, cell=atoms.cell, pbc=atoms.pbc)


def teacher_species(potential: Potential, structures: Sequence[Atoms]) -> tuple[str, ...]:
    """LAMMPS type order: the potential's elements, or the sorted elements present if it takes any."""
    return potential.elements or tuple(sorted({s for a in structures for s in a.get_chemical_symbols()}))


def label_structures(structures: Sequence[Atoms], potential: Potential, *, comm=None) -> list[Label]:
    """Energy, forces and virial of each structure from ``potential`` (one LAMMPS session for all)."""
    results = evaluate_structures(structures, potential, comm=comm, species=teacher_species(potential, structures))
    return [Label(r.energy_eV, r.forces_eV_per_A, r.virial_eV) for r in results]


def labelled_frame(
    atoms: Atoms,
    label: Label,
    *,
    config_type: str,
    source: str,
    with_virial: bool = True,
    info: dict | None = None,
) -> Frame:
    """``atoms`` (bare, plus ``info``) with its teacher label as a Frame."""
    structure = bare(atoms)
    structure.info.update(info or {})
    return Frame(
        atoms=structure,
        energy_eV=float(label.energy_eV),
        forces_eV_per_A=np.asarray(label.forces_eV_per_A),
        virial_eV=np.asarray(label.virial_eV) if with_virial else None,
        config_type=config_type,
        source=source,
    )


def perturbed_cells(
    base: Atoms,
    count: int,
    rng: np.random.Generator,
    *,
    rattle_A: float = 0.05,
    strain: float = 0.0,
) -> list[Atoms]:
    """``count`` copies of ``base``: a random symmetric strain up to ``strain`` (fraction),
    then Gaussian displacements of standard deviation ``rattle_A`` (Å)."""
    cells = []
    for _ in range(count):
        atoms = base.copy()
        if strain > 0:
            e = rng.uniform(-strain, strain, size=(3, 3))
            e = 0.5 * (e + e.T)
            atoms.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + e), scale_atoms=True)
        if rattle_A > 0:
            atoms.positions += rng.normal(0.0, rattle_A, size=atoms.positions.shape)
        cells.append(atoms)
    return cells


def molten_cells(
    base: Atoms,
    potential: Potential,
    count: int,
    rng: np.random.Generator,
    *,
    temperature_K: float = 3000.0,
    equilibration_ps: float = 1.0,
    interval_ps: float = 0.2,
    timestep_fs: float = 1.0,
    comm=None,
) -> list[Atoms]:
    """Snapshots of an NVT run of ``base`` at ``temperature_K`` with ``potential``."""
    species = teacher_species(potential, [base])
    steps_between = steps_for(interval_ps, timestep_fs)
    snapshots = []
    with LammpsSession(comm) as session:
        session.create_system(base, species, label="melt start")
        session.set_potential(potential)
        dynamics.set_timestep(session, timestep_fs)
        dynamics.create_velocities(session, temperature_K, seed=int(rng.integers(1, 2**31 - 1)))
        dynamics.add_nvt(session, "simkit_melt", temperature_K, temperature_K, damping_fs=100.0)
        dynamics.run_steps(session, steps_for(equilibration_ps, timestep_fs), chunk=500)
        for _ in range(count):
            dynamics.run_steps(session, steps_between, chunk=steps_between)
            snapshots.append(bare(session.to_atoms()))
    return snapshots


def label(
    structures: Sequence[Atoms],
    potential: Potential,
    config_type: str,
    *,
    with_virial: bool = True,
    comm=None,
    source: str = "teacher",
) -> Dataset:
    """Energies, forces (and virials) of ``structures`` from ``potential`` as a Dataset."""
    labels = label_structures(structures, potential, comm=comm)
    frames = [
        labelled_frame(atoms, lab, config_type=config_type, source=f"{source} {config_type} {k}",
                       with_virial=with_virial)
        for k, (atoms, lab) in enumerate(zip(structures, labels))
    ]
    return Dataset(frames, name=f"{source} {config_type}")


def teacher_dataset(
    teacher: Potential,
    base: Atoms,
    rng: np.random.Generator,
    *,
    rattled: int = 12,
    strained: int = 12,
    molten: int = 10,
    rattle_A: float = 0.08,
    strain: float = 0.05,
    melt_temperature_K: float = 2500.0,
    comm=None,
) -> Dataset:
    """A mixed dataset labelled by ``teacher``: config_types ``rattled`` (``base`` rattled by
    ``rattle_A``), ``strained`` (``base`` doubled along c, strained up to ``strain`` and rattled
    by ``rattle_A / 2``) and ``liquid`` (snapshots 0.1 ps apart of ``base`` doubled along a,
    at ``melt_temperature_K``)."""
    parts = []
    if rattled:
        cells = perturbed_cells(base, rattled, rng, rattle_A=rattle_A)
        parts.append(label(cells, teacher, "rattled", comm=comm))
    if strained:
        cells = perturbed_cells(base.repeat((1, 1, 2)), strained, rng, rattle_A=rattle_A / 2, strain=strain)
        parts.append(label(cells, teacher, "strained", comm=comm))
    if molten:
        cells = molten_cells(base.repeat((2, 1, 1)), teacher, molten, rng, temperature_K=melt_temperature_K,
                             equilibration_ps=0.5, interval_ps=0.1, comm=comm)
        parts.append(label(cells, teacher, "liquid", comm=comm))
    return Dataset.concatenate(parts, name=f"teacher {type(teacher).__name__}")
