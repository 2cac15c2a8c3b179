"""Teachers: anything that labels structures with energies, forces and virials.

A LAMMPS teacher is any potential the session layer supports (a config
``potential`` spec); it also drives the MD sampling. An ASE teacher is one of a
few named ASE calculators (no code strings are evaluated); MD sampling with it
uses ASE's Langevin integrator. LAMMPS labels come from
:func:`simkit.datasets.teacher.label_structures`, the one labelling path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol, Sequence, Union

import numpy as np
from ase import Atoms, units
from ase.calculators.emt import EMT
from ase.constraints import FixAtoms, FixCom
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import thermalize_momenta
from pydantic import Field, model_validator

from simkit.config.schema import ExistingFile, Schema
from simkit.datasets.teacher import Label, bare, label_structures, teacher_species
from simkit.io.yace import load_yace
from simkit.lammps import dynamics, regions
from simkit.lammps.potentials.specs import POTENTIAL_SPECS
from simkit.lammps.session import LammpsSession
from simkit.units import steps_for


@dataclass
class Snapshot:
    """A frame of a teacher's MD run, the target temperature then, and its schedule segment's index."""

    atoms: Atoms
    temperature_K: float
    segment: int


class Teacher(Protocol):
    elements: tuple[str, ...] | None

    def label(self, structures: Sequence[Atoms]) -> list[Label]:
        ...

    def sample(
        self, start: Atoms, schedule: Sequence[tuple[float, float, float]], snapshots_every_ps: float,
        timestep_fs: float, seed: int, held: np.ndarray | None = None,
    ) -> list[Snapshot]:
        """Run NVT through ``schedule`` [(start_K, end_K, duration_ps), ...], a snapshot every
        ``snapshots_every_ps``; atoms where ``held`` is True stay where they are."""
        ...


class LammpsTeacher:
    def __init__(self, spec, comm=None):
        self.potential = spec.build()
        self.elements = self.potential.elements
        self.comm = comm
        self.description = self.potential.describe()

    def label(self, structures: Sequence[Atoms]) -> list[Label]:
        return label_structures(structures, self.potential, comm=self.comm)

    def sample(self, start, schedule, snapshots_every_ps, timestep_fs, seed, held=None):
        snapshots: list[Snapshot] = []
        interval = steps_for(snapshots_every_ps, timestep_fs)
        with LammpsSession(self.comm) as session:
            session.create_system(start, teacher_species(self.potential, [start]), label="distil MD start")
            session.set_potential(self.potential)
            dynamics.set_timestep(session, timestep_fs)
            group = "all"
            if held is not None and np.any(held):
                group = regions.freeze_atoms(session, np.flatnonzero(held))
            dynamics.create_velocities(session, max(schedule[0][0], 1.0), seed, group=group)
            for segment, (start_K, end_K, duration_ps) in enumerate(schedule):
                steps = steps_for(duration_ps, timestep_fs, at_least=interval)
                dynamics.add_nvt(session, "simkit_distil", start_K, end_K, damping_fs=100.0, group=group)
                done = 0
                while done < steps:
                    n = min(interval, steps - done)
                    dynamics.run_steps(session, n, chunk=n)
                    done += n
                    temperature = start_K + (end_K - start_K) * done / steps
                    snapshots.append(Snapshot(bare(session.to_atoms()), temperature, segment))
                dynamics.remove_fix(session, "simkit_distil")
        return snapshots


class AseTeacher:
    """A named ASE calculator (``emt`` for the metals EMT covers, ``ace`` for a .yace through pyace)."""

    def __init__(self, spec: "AseTeacherSpec"):
        if spec.yace is not None:
            # pyace's own reader ends a damaged file in a traceback or a C++ allocation error, only once
            # labelling starts; simkit's reader refuses it now, naming the file and key.
            load_yace(spec.yace)
        self.spec = spec
        self.elements = None
        self.description = {"kind": "ase", "calculator": spec.calculator, "parameters": spec.parameters}

    def _calculator(self):
        if self.spec.calculator == "emt":
            return EMT(**self.spec.parameters)
        from pyace import PyACECalculator  # lazy: pyace is an optional extra, needed only for this calculator

        return PyACECalculator(str(self.spec.yace), **self.spec.parameters)

    def label(self, structures):
        calculator = self._calculator()
        labels = []
        for atoms in structures:
            atoms = bare(atoms)
            atoms.calc = calculator
            stress = atoms.get_stress(voigt=False)
            labels.append(Label(atoms.get_potential_energy(), atoms.get_forces(), -stress * atoms.get_volume()))
        return labels

    def sample(self, start, schedule, snapshots_every_ps, timestep_fs, seed, held=None):
        atoms = bare(start)
        atoms.calc = self._calculator()
        if held is not None and np.any(held):
            atoms.set_constraint(FixAtoms(mask=held))  # held atoms pin the cell, so no drift either
        else:
            atoms.set_constraint(FixCom())  # no drift of the centre of mass (ASE's recommended form)
        rng = np.random.default_rng(seed)
        thermalize_momenta(atoms, temperature_K=max(schedule[0][0], 1.0), rng=rng)
        snapshots = []
        interval = steps_for(snapshots_every_ps, timestep_fs)
        for segment, (start_K, end_K, duration_ps) in enumerate(schedule):
            steps = steps_for(duration_ps, timestep_fs, at_least=interval)
            dyn = Langevin(
                atoms, timestep_fs * units.fs, temperature_K=start_K, friction=0.01 / units.fs, fixcm=False, rng=rng
            )
            for done in range(interval, steps + 1, interval):
                temperature = start_K + (end_K - start_K) * done / steps
                dyn.set_temperature(temperature_K=temperature)
                dyn.run(interval)
                snapshots.append(Snapshot(bare(atoms), temperature, segment))
        return snapshots


class AseTeacherSpec(Schema):
    kind: Literal["ase"]
    calculator: Literal["emt", "ace"]
    yace: ExistingFile | None = Field(default=None, description="the .yace file for calculator: ace")
    parameters: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the calculator")

    @model_validator(mode="after")
    def _yace_for_ace(self) -> "AseTeacherSpec":
        if (self.calculator == "ace") != (self.yace is not None):
            raise ValueError("give 'yace' exactly when calculator is 'ace'")
        return self


# Any LAMMPS potential kind, or an ASE calculator.
TeacherSpec = Annotated[Union[(AseTeacherSpec, *POTENTIAL_SPECS)], Field(discriminator="kind")]


def make_teacher(spec, comm=None) -> Teacher:
    if isinstance(spec, AseTeacherSpec):
        return AseTeacher(spec)
    return LammpsTeacher(spec, comm)
