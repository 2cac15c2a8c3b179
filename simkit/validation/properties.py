"""Compute the configured properties of one potential: the quantities, the curves behind the
figures, and the problems found (a dimer hole), cheap ones first."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms

from simkit.errors import ConfigError, LammpsError, RunFailed
from simkit.lammps.potentials.base import Potential
from simkit.structures.spec import StructureSpec, load_structure
from simkit.validation import crystal, defects, liquid, phonons, shortrange
from simkit.validation.config import PropertiesSpec
from simkit.validation.engine import Engine, State

log = logging.getLogger(__name__)


@dataclass
class Properties:
    """What one potential gives: ``quantities`` (name -> value, unit in the name; None when undefined,
    with the reason in ``notes``), ``curves`` for figures, ``problems`` that fail validation."""

    quantities: dict[str, float | int | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    curves: dict[str, dict] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # property -> why it could not be computed
    seconds: dict[str, float] = field(default_factory=dict)


def read_structure(path, index: int) -> Atoms:
    return load_structure(StructureSpec(file=path, index=index))


def species_of(potential: Potential, atoms: Atoms) -> tuple[str, ...]:
    present = sorted(set(atoms.get_chemical_symbols()))
    if potential.elements is None:
        return tuple(present)
    missing = sorted(set(present) - set(potential.elements))
    if missing:
        raise ConfigError(f"structure: element(s) {', '.join(missing)} not covered by the potential "
                          f"(it has {', '.join(potential.elements)})")
    return tuple(potential.elements)


def compute(potential: Potential, atoms: Atoms, repeat: tuple[int, int, int], spec: PropertiesSpec,
            comm=None, *, label: str = "potential") -> Properties:
    """All properties of ``spec`` for ``potential``, starting from ``atoms`` (the structure as configured)."""
    if spec.surfaces is not None and spec.surfaces.vacuum_A <= potential.cutoff_A:
        raise ConfigError(f"properties.surfaces.vacuum_A = {spec.surfaces.vacuum_A:g}: must exceed the {label}'s "
                          f"cutoff ({potential.cutoff_A:g} Å), or the slab interacts with its own image")
    species = species_of(potential, atoms)
    if spec.dimer is not None and spec.dimer.closest_A >= potential.cutoff_A:
        raise ConfigError(f"properties.dimer.closest_A = {spec.dimer.closest_A:g}: must be below the {label}'s "
                          f"cutoff ({potential.cutoff_A:g} Å)")
    out = Properties()

    def step(name, action):
        """Run one property: its action's result (True when it returns nothing), or False when LAMMPS failed
        (a collapsing cell, atoms lost); the failure is recorded as the property's result and the
        properties that do not depend on it still run."""
        start = time.perf_counter()
        try:
            result = action()
        except (LammpsError, RunFailed) as exc:
            if isinstance(exc, LammpsError) and exc.fatal:
                raise
            out.problems.append(f"{name}: could not be computed: {exc}")
            out.failed[name] = str(exc)
            log.warning("%s: %s failed: %s", label, name, exc)
            return False
        out.seconds[name] = round(time.perf_counter() - start, 3)
        log.info("%s: %s done in %.1f s", label, name, out.seconds[name])
        return True if result is None else result

    if spec.dimer is not None:  # first: cheap, and it needs no crystal (a potential with a hole may have none)
        step("dimer", lambda: _dimers(out, potential, species, spec, comm))
    with Engine(potential, species, comm) as engine:
        state = step("lattice", lambda: _lattice(out, engine, atoms, repeat))
        if not state:
            return _finish(out, atoms)
        relaxed = state.atoms
        if spec.eos is not None:
            step("eos", lambda: _eos(out, engine, relaxed, spec))
        if spec.elastic is not None:
            step("elastic", lambda: _elastic(out, engine, relaxed, spec))
        if spec.vacancy is not None:
            step("vacancy", lambda: out.quantities.update(defects.vacancy(engine, relaxed, spec.vacancy.repeat)))
        for name, site in spec.interstitials.items():
            step(f"interstitial {name}", lambda: out.quantities.update(defects.interstitial(
                engine, relaxed, site.repeat, dumbbell=site.dumbbell, site_frac=site.site_frac, label=name)))
        if spec.surfaces is not None:
            for miller in spec.surfaces.miller:
                step(f"surface {list(miller)}", lambda: out.quantities.update(defects.surface_energy(
                    engine, relaxed, state.energy_per_atom_eV, miller, spec.surfaces.layers, spec.surfaces.vacuum_A)))
        for name, planar in spec.planar_defects.items():
            step(f"planar defect {name}", lambda: out.quantities.update(defects.planar_defect_energy(
                engine, read_structure(planar.file, planar.index), state.energy_per_atom_eV,
                set(relaxed.get_chemical_symbols()), name=name, normal_axis=planar.normal_axis,
                interfaces=planar.interfaces, relax_cell_normal=planar.relax_cell_normal)))
        if spec.phonons is not None:
            step("phonons", lambda: _phonons(out, potential, relaxed, spec, comm))
        if spec.liquid is not None:  # last: MD, the most expensive
            step("liquid", lambda: _liquid(out, engine, relaxed, spec))
    return _finish(out, atoms)


def _lattice(out: Properties, engine: Engine, atoms: Atoms, repeat: tuple[int, int, int]) -> State:
    state, quantities = crystal.equilibrium(engine, atoms, repeat)
    out.quantities.update(quantities)
    return state


def _dimers(out: Properties, potential: Potential, species, spec: PropertiesSpec, comm) -> None:
    quantities, curves, problems = shortrange.dimer_checks(potential, species, spec.dimer.closest_A,
                                                           spec.dimer.points, comm)
    out.quantities.update(quantities)
    out.curves["dimer"] = curves
    out.problems.extend(problems)
    for pair, curve in curves.items():
        if quantities[f"dimer_{pair}_hole_A"] is None:
            out.notes[f"dimer_{pair}_hole_A"] = f"no hole: {curve['verdict']}"


def _eos(out: Properties, engine: Engine, relaxed: Atoms, spec: PropertiesSpec) -> None:
    quantities, curve = crystal.equation_of_state(engine, relaxed, spec.eos.volume_range, spec.eos.points)
    out.quantities.update(quantities)
    fit = {k: quantities[k] for k in ("E0_eV_per_atom", "V0_A3_per_atom", "B0_GPa", "B0_prime")}
    out.curves["eos"] = curve | {"fit": fit}


def _elastic(out: Properties, engine: Engine, relaxed: Atoms, spec: PropertiesSpec) -> None:
    quantities, matrices = crystal.elastic_constants(engine, relaxed, spec.elastic.strain)
    out.quantities.update(quantities)
    out.curves["elastic"] = matrices


def _phonons(out: Properties, potential: Potential, relaxed: Atoms, spec: PropertiesSpec, comm) -> None:
    quantities, curves = phonons.phonons(potential, relaxed, spec.phonons, comm)
    out.quantities.update(quantities)
    out.curves["phonons"] = curves


def _liquid(out: Properties, engine: Engine, relaxed: Atoms, spec: PropertiesSpec) -> None:
    quantities, curves = liquid.liquid(engine, relaxed, spec.liquid, spec.liquid.seed)
    out.quantities.update(quantities)
    out.curves["liquid"] = curves


def _finish(out: Properties, atoms: Atoms) -> Properties:
    for name, value in out.quantities.items():
        if isinstance(value, float) and not np.isfinite(value):
            out.quantities[name] = None
            out.notes[name] = "not finite: the computation broke down (see the log)"
    out.quantities["cell_atoms"] = len(atoms)
    return out
